/*
 * Generic KASAN (CONFIG_KASAN_GENERIC, Linux 6.12: mm/kasan/kasan.h, shadow.c, common.c, generic.c,
 * quarantine.c, report.c, report_generic.c) as pure functions over small descriptions.
 *
 * Every 8-byte granule of kernel memory has one shadow byte: 0 when all 8 bytes are accessible, 1..7 when
 * only that many leading bytes are (the partial last granule of an object), and a negative (>= 0x80) code
 * saying why the granule is poisoned (KASAN_SLAB_REDZONE, KASAN_SLAB_FREE, ...). Invariants:
 *   - a shadow byte in 1..7 is only ever the last accessible granule of a range: the byte after it is a
 *     poison code (get_shadow_bug_type() reads that next byte to name the bug);
 *   - a freed slab object's first granule reads KASAN_SLAB_FREE_META (0xFA) when its free track is stored,
 *     and keeps it after the quarantine evicts the object (since 6.8 qlink_free() leaves metadata alone);
 *     the rest of its object_size reads KASAN_SLAB_FREE;
 *   - everything of a slab that is not an allocated object's accessible bytes reads KASAN_SLAB_REDZONE
 *     (kasan_poison_slab() poisons the whole slab when it is allocated).
 *
 * The engine keeps no shadow array: shadow bytes are derived on demand from allocator state (a slab
 * object's state and requested size, a page block's state, a vmalloc area's requested size), which is what
 * the *Shadow() functions below compute, exactly as kasan_poison()/kasan_unpoison()/__kasan_slab_alloc()/
 * __kasan_kmalloc()/__kasan_slab_free()/__kasan_kmalloc_large()/kasan_{un,}poison_pages()/
 * kasan_unpoison_vmalloc() leave them. Checks and reports read the shadow through a ShadowLookup callback
 * (granule index = address >> 3).
 *
 * Assumed configuration (defconfig + CONFIG_KASAN=y, CONFIG_KASAN_GENERIC=y): CONFIG_STACKDEPOT (selected by
 * KASAN), CONFIG_KASAN_EXTRA_INFO off (a bool without default in lib/Kconfig.kasan), CONFIG_SLUB_RCU_DEBUG
 * on (its default with KASAN_GENERIC), 64-bit, 4 KiB pages, MAX_PAGE_ORDER 10 (KMALLOC_MAX_SIZE = 4 MiB).
 * Under these struct kasan_track is { u32 pid; depot_stack_handle_t stack; } = 8 bytes, struct
 * kasan_alloc_meta { track; aux_stack[2]; } = 16 and struct kasan_free_meta { qlist_node; track; } = 16;
 * with CONFIG_KASAN_EXTRA_INFO the track gains a u64 (cpu:20, timestamp:44): 16, 24 and 24, and
 * print_track() prints "%s by task %u on cpu %d at %lu.%06lus:".
 *
 * Version notes: KASAN_SLAB_FREETRACK was renamed KASAN_SLAB_FREE_META in 6.8 (same value 0xFA); the
 * "slab-use-after-free" bug type exists since 6.3; kasan_cache_create()'s third reason to move free meta
 * out of the object (slub_debug_orig_size()) is 6.13, so it is not modelled; the vmalloc lines of
 * print_address_description() ("The buggy address belongs to the virtual mapping at") are the 6.12 ones
 * (6.14 replaced them). Every address in a 6.12 KASAN report is printed with %px (raw, 16 hex digits);
 * none uses the hashed %p. Symbols (%pS) and stacks are the caller's text.
 */

/** KASAN_SHADOW_SCALE_SHIFT: one shadow byte per 2^3 bytes. */
export const KASAN_SHADOW_SCALE_SHIFT = 3;
export const KASAN_GRANULE_SIZE = 1 << KASAN_SHADOW_SCALE_SHIFT;
export const KASAN_GRANULE_MASK = KASAN_GRANULE_SIZE - 1;

/* mm/kasan/kasan.h shadow codes (CONFIG_KASAN_GENERIC). */
/** freed page */
export const KASAN_PAGE_FREE = 0xff;
/** redzone for kmalloc_large allocation */
export const KASAN_PAGE_REDZONE = 0xfe;
/** redzone for slab object */
export const KASAN_SLAB_REDZONE = 0xfc;
/** freed slab object */
export const KASAN_SLAB_FREE = 0xfb;
/** freed slab object with free meta (called KASAN_SLAB_FREETRACK before 6.8) */
export const KASAN_SLAB_FREE_META = 0xfa;
/** The pre-6.8 name of KASAN_SLAB_FREE_META. */
export const KASAN_SLAB_FREETRACK = KASAN_SLAB_FREE_META;
/** redzone for global variable */
export const KASAN_GLOBAL_REDZONE = 0xf9;
/** inaccessible space in vmap area */
export const KASAN_VMALLOC_INVALID = 0xf8;
/* Stack redzone shadow values: compiler ABI. */
export const KASAN_STACK_LEFT = 0xf1;
export const KASAN_STACK_MID = 0xf2;
export const KASAN_STACK_RIGHT = 0xf3;
export const KASAN_STACK_PARTIAL = 0xf4;
/* alloca redzone shadow values: compiler ABI. */
export const KASAN_ALLOCA_LEFT = 0xca;
export const KASAN_ALLOCA_RIGHT = 0xcb;
export const KASAN_ALLOCA_REDZONE_SIZE = 32;
/** Stack frame marker: compiler ABI. */
export const KASAN_CURRENT_STACK_FRAME_MAGIC = 0x41b58ab3;

/* Metadata layout of the "Memory state around the buggy address" dump. */
export const META_BYTES_PER_BLOCK = 1;
export const META_BLOCKS_PER_ROW = 16;
export const META_BYTES_PER_ROW = META_BLOCKS_PER_ROW * META_BYTES_PER_BLOCK;
export const META_MEM_BYTES_PER_ROW = META_BYTES_PER_ROW * KASAN_GRANULE_SIZE;
export const META_ROWS_AROUND_ADDR = 2;

/** KASAN_NO_FREE_META (INT_MAX): kasan_info.free_meta_offset when the cache has no free meta. */
export const KASAN_NO_FREE_META = 0x7fffffff;
/** KMALLOC_MAX_SIZE with SLUB: 1 << (MAX_PAGE_ORDER + PAGE_SHIFT). */
export const KMALLOC_MAX_SIZE = 1 << 22;

/** sizeof(struct kasan_track), kasan_alloc_meta, kasan_free_meta (64-bit). */
export function kasanMetaSizes(extraInfo = false): { track: number; allocMeta: number; freeMeta: number } {
  const track = extraInfo ? 16 : 8;
  return { track, allocMeta: track + 8, freeMeta: 8 + track };
}
export const KASAN_ALLOC_META_SIZE = 16;
export const KASAN_FREE_META_SIZE = 16;

/** The shadow byte of a granule (granule = address >> 3). Where there is none, the caller decides. */
export type ShadowLookup = (granule: bigint) => number;

/** Where shadow exists and where user space ends, for the address-based bug types. */
export interface KasanAddressLimits {
  /** kasan_shadow_to_mem(KASAN_SHADOW_START): addr_has_metadata() is addr >= this. */
  readonly metadataStart: bigint;
  /** TASK_SIZE of get_wild_bug_type(). */
  readonly taskSize: bigint;
  /** PAGE_SIZE of get_wild_bug_type(). */
  readonly pageSize: bigint;
}

/**
 * x86-64 with 4-level paging: KASAN_SHADOW_OFFSET 0xdffffc0000000000, KASAN_SHADOW_START 0xffffec0000000000,
 * whose memory is the start of the kernel half; TASK_SIZE_MAX = (1 << 47) - PAGE_SIZE.
 */
export const KASAN_LIMITS_X86_64: KasanAddressLimits = {
  metadataStart: 0xffff800000000000n,
  taskSize: 0x00007ffffffff000n,
  pageSize: 4096n,
};
/** arch/x86 CONFIG_KASAN_SHADOW_OFFSET. */
export const KASAN_SHADOW_OFFSET_X86_64 = 0xdffffc0000000000n;

const MASK64 = (1n << 64n) - 1n;

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Shadow derivation                                                                                      */
/* ------------------------------------------------------------------------------------------------------ */

/** kasan_poison() on a granule-aligned range of a shadow array that starts at granule 0. */
function poison(shadow: Uint8Array, start: number, end: number, value: number): void {
  shadow.fill(
    value,
    Math.min(start / KASAN_GRANULE_SIZE, shadow.length),
    Math.min(end / KASAN_GRANULE_SIZE, shadow.length),
  );
}

/** kasan_poison_last_granule(): the granule holding byte `size` says how many of its bytes are accessible. */
function poisonLastGranule(shadow: Uint8Array, size: number): void {
  const g = Math.floor(size / KASAN_GRANULE_SIZE);
  if (size & KASAN_GRANULE_MASK && g < shadow.length) shadow[g] = size & KASAN_GRANULE_MASK;
}

/** kasan_unpoison(): round_up(size, 8) bytes to 0, then the partial last granule. */
function unpoison(shadow: Uint8Array, size: number): void {
  poison(shadow, 0, roundUp(size, KASAN_GRANULE_SIZE), 0);
  poisonLastGranule(shadow, size);
}

/**
 * A slab object's state as KASAN sees it:
 *   unused      - never allocated since its slab was made (kasan_poison_slab() + kasan_poison_new_object());
 *   allocated   - handed out (__kasan_slab_alloc(), and for kmalloc __kasan_kmalloc()/__kasan_krealloc());
 *   free        - freed (__kasan_slab_free()); in or out of the quarantine the shadow is the same;
 *   quarantined - the same shadow as free, named for callers that track the quarantine;
 *   rcu-pending - a SLAB_TYPESAFE_BY_RCU object freed but waiting for its grace period under
 *                 CONFIG_SLUB_RCU_DEBUG: still accessible, so the shadow is still that of allocated.
 */
export type KasanObjectState = 'unused' | 'allocated' | 'free' | 'quarantined' | 'rcu-pending';

export interface ObjectShadowOptions {
  /** Whether the cache has free meta (kasan_info.free_meta_offset !== KASAN_NO_FREE_META). Default true. */
  readonly hasFreeMeta?: boolean;
}

/**
 * The shadow of one slab slot, from the object's first byte for slotBytes bytes (one byte per granule):
 *
 *   objectSize - s->object_size;
 *   slotBytes  - the bytes from this object to the next (s->size; KASAN's metadata and redzone included);
 *   requested  - the kmalloc size (or objectSize for kmem_cache_alloc), which is what poison_kmalloc_redzone()
 *                uses; krealloc() in place leaves the same shadow as a fresh kmalloc of the new size.
 *
 * allocated: unpoison_slab_object() unpoisons object_size (partial last granule), then for kmalloc
 * poison_kmalloc_redzone() marks the granule holding byte `requested` with (requested & 7) and poisons
 * [round_up(requested, 8), round_up(object_size, 8)) with KASAN_SLAB_REDZONE. Beyond round_up(object_size)
 * (alloc meta, the rest of the redzone) the slab's KASAN_SLAB_REDZONE stays.
 * free: poison_slab_object() poisons round_up(object_size, 8) with KASAN_SLAB_FREE, then
 * kasan_save_free_info() writes KASAN_SLAB_FREE_META into the first granule's shadow (when free meta exists,
 * whether inside the object or after it).
 */
export function objectShadow(
  objectSize: number,
  slotBytes: number,
  requested: number,
  state: KasanObjectState,
  options: ObjectShadowOptions = {},
): Uint8Array {
  const shadow = new Uint8Array(Math.ceil(slotBytes / KASAN_GRANULE_SIZE)).fill(KASAN_SLAB_REDZONE);
  const objectEnd = roundUp(objectSize, KASAN_GRANULE_SIZE);
  switch (state) {
    case 'unused':
      break;
    case 'allocated':
    case 'rcu-pending': {
      const size = Math.min(Math.max(requested, 0), objectSize);
      unpoison(shadow, objectSize);
      poisonLastGranule(shadow, size);
      poison(shadow, roundUp(size, KASAN_GRANULE_SIZE), objectEnd, KASAN_SLAB_REDZONE);
      break;
    }
    case 'free':
    case 'quarantined':
      poison(shadow, 0, objectEnd, KASAN_SLAB_FREE);
      if ((options.hasFreeMeta ?? true) && shadow.length > 0) shadow[0] = KASAN_SLAB_FREE_META;
      break;
  }
  return shadow;
}

/**
 * The shadow of a large kmalloc (above KMALLOC_MAX_CACHE_SIZE, straight from the page allocator), for the
 * whole compound page of pageBytes (PAGE_SIZE << order): allocated, kasan_unpoison_pages() then
 * poison_kmalloc_large_redzone(): accessible up to `requested` (partial last granule), KASAN_PAGE_REDZONE
 * from round_up(requested, 8) to the end of the pages. Freed, kasan_poison_pages(): KASAN_PAGE_FREE.
 */
export function kmallocLargeShadow(requested: number, pageBytes: number, state: 'allocated' | 'free'): Uint8Array {
  const shadow = new Uint8Array(Math.ceil(pageBytes / KASAN_GRANULE_SIZE));
  if (state === 'free') return shadow.fill(KASAN_PAGE_FREE);
  poisonLastGranule(shadow, requested);
  poison(shadow, roundUp(requested, KASAN_GRANULE_SIZE), pageBytes, KASAN_PAGE_REDZONE);
  return shadow;
}

/**
 * The shadow of a page block of the page allocator: allocated (post_alloc_hook() -> kasan_unpoison_pages()),
 * all 0; free (free_pages_prepare() -> kasan_poison_pages()), all KASAN_PAGE_FREE. A slab's pages are
 * repoisoned by kasan_poison_slab() (objectShadow(); its leftover tail reads KASAN_SLAB_REDZONE).
 */
export function pageShadow(bytes: number, state: 'allocated' | 'free'): Uint8Array {
  return new Uint8Array(Math.ceil(bytes / KASAN_GRANULE_SIZE)).fill(state === 'free' ? KASAN_PAGE_FREE : 0);
}

/**
 * The shadow of a vmalloc area of areaBytes (its pages, and the guard page when the caller includes it).
 * kasan_populate_vmalloc() fills new shadow with KASAN_VMALLOC_INVALID; __vmalloc_node_range() then calls
 * kasan_unpoison_vmalloc(addr, real_size) with the size the caller asked for, so the tail of the last page
 * after `requested` (and the guard page) stays KASAN_VMALLOC_INVALID; vfree() -> kasan_poison_vmalloc()
 * poisons the whole area again.
 */
export function vmallocShadow(areaBytes: number, requested: number, state: 'allocated' | 'free'): Uint8Array {
  const shadow = new Uint8Array(Math.ceil(areaBytes / KASAN_GRANULE_SIZE)).fill(KASAN_VMALLOC_INVALID);
  if (state === 'allocated') unpoison(shadow, Math.min(requested, areaBytes));
  return shadow;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Slab geometry                                                                                          */
/* ------------------------------------------------------------------------------------------------------ */

/** struct kasan_cache of a cache: where the metadata sits in each slot. */
export interface KasanCacheInfo {
  /** s->size after kasan_cache_create(), before calculate_sizes() adds the left redzone and aligns. */
  readonly size: number;
  /** alloc_meta_offset: where struct kasan_alloc_meta sits, 0 for none. */
  readonly allocMetaOffset: number;
  /** free_meta_offset: 0 inside the object, KASAN_NO_FREE_META for none. */
  readonly freeMetaOffset: number;
}

export interface KasanCacheCreateOptions {
  /** The cache has a constructor (s->ctor). */
  readonly ctor?: boolean;
  /** SLAB_TYPESAFE_BY_RCU. */
  readonly typesafeByRcu?: boolean;
  /** __slub_debug_enabled(): slub_debug= turned debugging on for some cache. */
  readonly slubDebugEnabled?: boolean;
  /** CONFIG_KASAN_EXTRA_INFO (off by default). */
  readonly extraInfo?: boolean;
}

/** optimal_redzone() (mm/kasan/generic.c): the redzone userspace ASan would give an object of this size. */
export function optimalRedzone(objectSize: number): number {
  return objectSize <= 64 - 16
    ? 16
    : objectSize <= 128 - 32
      ? 32
      : objectSize <= 512 - 64
        ? 64
        : objectSize <= 4096 - 128
          ? 128
          : objectSize <= (1 << 14) - 256
            ? 256
            : objectSize <= (1 << 15) - 512
              ? 512
              : objectSize <= (1 << 16) - 1024
                ? 1024
                : 2048;
}

/**
 * kasan_cache_create() of 6.12, called by calculate_sizes() with `size` = the slot so far (object rounded to
 * a word, an after-object free pointer, slub_debug's tracks):
 *   1. alloc meta goes at `size` (dropped, offset 0, if that passes KMALLOC_MAX_SIZE);
 *   2. free meta goes after it when the object may not be overwritten once free (SLAB_TYPESAFE_BY_RCU or a
 *      constructor); else inside the object (offset 0) when object_size >= sizeof(free meta); else, without
 *      slub_debug, it starts in the object and the rest (sizeof - object_size) is added to the slot, alloc
 *      meta moving up by as much; else (slub_debug on) after alloc meta (dropped if over KMALLOC_MAX_SIZE);
 *   3. size = max(size, min(object_size + optimal_redzone(object_size), KMALLOC_MAX_SIZE)).
 */
export function kasanCacheCreate(
  objectSize: number,
  sizeSoFar: number,
  options: KasanCacheCreateOptions = {},
): KasanCacheInfo {
  const { allocMeta, freeMeta } = kasanMetaSizes(options.extraInfo);
  let size = sizeSoFar;
  let okSize = size;
  let allocMetaOffset = size;
  let freeMetaOffset = 0;
  size += allocMeta;
  if (size > KMALLOC_MAX_SIZE) {
    allocMetaOffset = 0;
    size = okSize;
  }
  okSize = size;
  const origAllocMetaOffset = allocMetaOffset;
  if (options.typesafeByRcu || options.ctor) {
    freeMetaOffset = size;
    size += freeMeta;
  } else if (freeMeta <= objectSize) {
    // free_meta_offset = 0: inside the object.
  } else if (!options.slubDebugEnabled) {
    const rem = freeMeta - objectSize;
    size += rem;
    if (allocMetaOffset !== 0) allocMetaOffset += rem;
  } else {
    freeMetaOffset = size;
    size += freeMeta;
  }
  if (size > KMALLOC_MAX_SIZE) {
    freeMetaOffset = KASAN_NO_FREE_META;
    allocMetaOffset = origAllocMetaOffset;
    size = okSize;
  }
  const optimalSize = Math.min(objectSize + optimalRedzone(objectSize), KMALLOC_MAX_SIZE);
  if (size < optimalSize) size = optimalSize;
  return { size, allocMetaOffset, freeMetaOffset };
}

/** kasan_metadata_size(): KASAN's metadata bytes inside the object (in_object) or after it. */
export function kasanMetadataSize(info: KasanCacheInfo, inObject: boolean, extraInfo = false): number {
  const { allocMeta, freeMeta } = kasanMetaSizes(extraInfo);
  if (inObject) return info.freeMetaOffset ? 0 : freeMeta;
  return (
    (info.allocMetaOffset ? allocMeta : 0) +
    (info.freeMetaOffset && info.freeMetaOffset !== KASAN_NO_FREE_META ? freeMeta : 0)
  );
}

/* ------------------------------------------------------------------------------------------------------ */
/* Access checks                                                                                          */
/* ------------------------------------------------------------------------------------------------------ */

const s8 = (b: number): number => ((b & 0xff) ^ 0x80) - 0x80;
const granuleOf = (addr: bigint): bigint => addr >> BigInt(KASAN_SHADOW_SCALE_SHIFT);
const offsetIn = (addr: bigint): number => Number(addr & BigInt(KASAN_GRANULE_MASK));

/** memory_is_poisoned_1(). */
function poisoned1(shadowAt: ShadowLookup, addr: bigint): boolean {
  const v = s8(shadowAt(granuleOf(addr)));
  return v !== 0 && offsetIn(addr) >= v;
}

/** memory_is_poisoned_n() (memory_is_nonzero() finds the first non-zero shadow byte; order is all it needs). */
function poisonedN(shadowAt: ShadowLookup, addr: bigint, size: bigint): boolean {
  const first = granuleOf(addr);
  const lastByte = (addr + size - 1n) & MASK64;
  const last = granuleOf(lastByte);
  for (let g = first; g <= last; g++) {
    if (shadowAt(g) === 0) continue;
    return g !== last || offsetIn(lastByte) >= s8(shadowAt(last));
  }
  return false;
}

/** memory_is_poisoned(): the compile-time-sized paths (1, 2, 4, 8, 16) when `constant`, else _n. */
function memoryIsPoisoned(shadowAt: ShadowLookup, addr: bigint, size: bigint, constant: boolean): boolean {
  if (constant) {
    if (size === 1n) return poisoned1(shadowAt, addr);
    if (size === 2n || size === 4n || size === 8n) {
      const lastByte = (addr + size - 1n) & MASK64;
      // The access crosses a granule boundary: the first granule must be wholly accessible too.
      const crosses = BigInt(offsetIn(lastByte)) < size - 1n;
      return (crosses && shadowAt(granuleOf(addr)) !== 0) || poisoned1(shadowAt, lastByte);
    }
    if (size === 16n) {
      const g = granuleOf(addr);
      const word = shadowAt(g) !== 0 || shadowAt(g + 1n) !== 0; // the u16 of two shadow bytes
      if (offsetIn(addr) !== 0) return word || poisoned1(shadowAt, (addr + 15n) & MASK64);
      return word;
    }
  }
  return poisonedN(shadowAt, addr, size);
}

export interface CheckAccessOptions {
  /**
   * A compiler-instrumented access of a constant size (__asan_load1/2/4/8/16, __asan_store*): the fixed-size
   * paths of memory_is_poisoned(). Otherwise kasan_check_range() semantics (memcpy and friends,
   * __asan_loadN): memory_is_poisoned_n(). The two differ only on shadow values no allocator writes.
   */
  readonly instrumented?: boolean;
  readonly limits?: KasanAddressLimits;
}

/** kasan_find_first_bad_addr() (report_generic.c): the first granule step from addr whose shadow is non-zero. */
export function findFirstBadAddr(
  shadowAt: ShadowLookup,
  addr: bigint,
  size: number | bigint,
  limits: KasanAddressLimits = KASAN_LIMITS_X86_64,
): bigint {
  if (addr < limits.metadataStart) return addr;
  const end = (addr + BigInt(size)) & MASK64; // a wrapping range ends below addr: the loop does not run
  let p = addr;
  while (p < end && shadowAt(granuleOf(p)) === 0) p += BigInt(KASAN_GRANULE_SIZE);
  return p;
}

/**
 * check_region_inline() / kasan_check_range(): undefined when the access is fine, else the first bad address
 * the report will use (info->first_bad_addr; the "at addr" line prints the access address itself). Overflowing
 * ranges and addresses without shadow (addr_has_metadata() false) report with first bad = addr.
 */
export function checkAccess(
  shadowAt: ShadowLookup,
  addr: bigint,
  size: number | bigint,
  _write: boolean,
  options: CheckAccessOptions = {},
): bigint | undefined {
  const limits = options.limits ?? KASAN_LIMITS_X86_64;
  const n = BigInt(size);
  if (n === 0n) return undefined;
  if (addr + n > MASK64) return addr; // addr + size wraps past 2^64
  if (addr < limits.metadataStart) return addr;
  const constant = (options.instrumented ?? false) && [1n, 2n, 4n, 8n, 16n].includes(n);
  if (!memoryIsPoisoned(shadowAt, addr, n, constant)) return undefined;
  return findFirstBadAddr(shadowAt, addr, n, limits);
}

/** kasan_byte_accessible() (generic): the shadow of the byte is 0..7. */
export function kasanByteAccessible(shadowByte: number): boolean {
  const v = s8(shadowByte);
  return v >= 0 && v < KASAN_GRANULE_SIZE;
}

/**
 * The freeing checks of __kasan_slab_pre_free() (check_slab_allocation()) and __kasan_kfree_large()
 * (check_page_allocation()): a pointer that is not the object's (or the pages') start is an invalid-free, an
 * object whose first shadow byte is not accessible a double-free.
 */
export function checkFree(
  ptr: bigint,
  objectStart: bigint,
  firstShadow: number,
): 'invalid-free' | 'double-free' | undefined {
  if (ptr !== objectStart) return 'invalid-free';
  if (!kasanByteAccessible(firstShadow)) return 'double-free';
  return undefined;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Bug types                                                                                              */
/* ------------------------------------------------------------------------------------------------------ */

/**
 * get_shadow_bug_type(): named by the shadow of the first bad address; a partial granule (1..7) defers to
 * the next shadow byte, since the bad bytes are the poisoned tail of that granule.
 */
export function bugType(shadowAtFirstBad: number, nextShadow: number): string {
  let v = shadowAtFirstBad & 0xff;
  if (v > 0 && v <= KASAN_GRANULE_SIZE - 1) v = nextShadow & 0xff;
  switch (v) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
      return 'out-of-bounds';
    case KASAN_PAGE_REDZONE:
    case KASAN_SLAB_REDZONE:
      return 'slab-out-of-bounds';
    case KASAN_GLOBAL_REDZONE:
      return 'global-out-of-bounds';
    case KASAN_STACK_LEFT:
    case KASAN_STACK_MID:
    case KASAN_STACK_RIGHT:
    case KASAN_STACK_PARTIAL:
      return 'stack-out-of-bounds';
    case KASAN_PAGE_FREE:
      return 'use-after-free';
    case KASAN_SLAB_FREE:
    case KASAN_SLAB_FREE_META:
      return 'slab-use-after-free';
    case KASAN_ALLOCA_LEFT:
    case KASAN_ALLOCA_RIGHT:
      return 'alloca-out-of-bounds';
    case KASAN_VMALLOC_INVALID:
      return 'vmalloc-out-of-bounds';
    default:
      return 'unknown-crash';
  }
}

/** get_wild_bug_type(): for an address without shadow. */
export function wildBugType(accessAddr: bigint, limits: KasanAddressLimits = KASAN_LIMITS_X86_64): string {
  if (accessAddr < limits.pageSize) return 'null-ptr-deref';
  if (accessAddr < limits.taskSize) return 'user-memory-access';
  return 'wild-memory-access';
}

/** get_bug_type() of an access report: a wrapping range, then shadow or address. */
export function accessBugType(
  shadowAt: ShadowLookup,
  accessAddr: bigint,
  accessSize: number | bigint,
  firstBadAddr: bigint,
  limits: KasanAddressLimits = KASAN_LIMITS_X86_64,
): string {
  if (accessAddr + BigInt(accessSize) > MASK64) return 'out-of-bounds';
  if (accessAddr >= limits.metadataStart) {
    const g = granuleOf(firstBadAddr);
    return bugType(shadowAt(g), shadowAt(g + 1n));
  }
  return wildBugType(accessAddr, limits);
}

/** kasan_get_alloc_size(): the kmalloc size an object's shadow encodes; 0 when freed (not decodable). */
export function kasanGetAllocSize(shadow: ArrayLike<number>, objectSize: number): number {
  let size = 0;
  for (let i = 0; size < objectSize; i++) {
    const v = shadow[i] ?? KASAN_SLAB_REDZONE;
    if (v === 0) size += KASAN_GRANULE_SIZE;
    else if (v >= 1 && v <= KASAN_GRANULE_SIZE - 1) return size + v;
    else return size;
  }
  return objectSize;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Reports                                                                                                */
/* ------------------------------------------------------------------------------------------------------ */

/** %px: the raw pointer, zero-padded to 16 hex digits. */
export function px(addr: bigint): string {
  return (addr & MASK64).toString(16).padStart(16, '0');
}

const BANNER = '==================================================================';

/** A struct kasan_track as print_track() prints it; `stack` holds stack_depot_print()'s lines. */
export interface KasanTrack {
  readonly pid: number;
  readonly stack: readonly string[];
}

/** What describe_object() needs of the slab object the address belongs to (nearest_obj()). */
export interface KasanObjectInfo {
  readonly addr: bigint;
  readonly cacheName: string;
  /** cache->object_size. */
  readonly objectSize: number;
  /** info->alloc_size: kasanGetAllocSize() of the object's shadow, or objectSize when that is 0. */
  readonly allocSize: number;
  /** The alloc track (kasan_alloc_meta), absent when not saved. */
  readonly allocTrack?: KasanTrack;
  /** The free track, present when the object's first shadow byte is KASAN_SLAB_FREE_META. */
  readonly freeTrack?: KasanTrack;
  /** alloc_meta->aux_stack[0] and [1]: kasan_record_aux_stack() callers (call_rcu, queue_work...). */
  readonly auxStacks?: readonly (readonly string[] | undefined)[];
}

export interface KasanReport {
  readonly kind: 'access' | 'invalid-free' | 'double-free';
  /** %pS of the faulting ip, e.g. "uart_write+0x9ff/0xb30 drivers/tty/serial/serial_core.c:614". */
  readonly ip: string;
  readonly accessAddr: bigint;
  /** Bytes accessed (0 prints "Read at addr"); ignored for frees. */
  readonly accessSize?: number;
  readonly isWrite?: boolean;
  /** current->comm and task_pid_nr(current). */
  readonly comm: string;
  readonly pid: number;
  /** dump_stack_lvl()'s lines: "CPU: ...", "Hardware name: ...", "Call Trace:", " <TASK>", ... */
  readonly stack: readonly string[];
  /** The shadow, for the bug type and the memory state dump. */
  readonly shadowAt: ShadowLookup;
  /** Defaults to KASAN_LIMITS_X86_64. */
  readonly limits?: KasanAddressLimits;
  /** The slab object (kasan_addr_to_slab() found a slab). */
  readonly object?: KasanObjectInfo;
  /** %pS of a kernel or module address (a global): "The buggy address belongs to the variable:". */
  readonly variable?: string;
  /** kasan_print_address_stack_frame()'s lines, for an address on the current task's stack. */
  readonly stackFrame?: readonly string[];
  /** find_vm_area() of a vmalloc address: [addr, addr + size) and %pS of its caller. */
  readonly vmArea?: { readonly start: bigint; readonly end: bigint; readonly caller: string };
  /** dump_page(): its lines before "page dumped because:", then dump_page_owner()'s. */
  readonly page?: { readonly lines: readonly string[]; readonly ownerLines?: readonly string[] };
}

/** describe_object_addr(): where the address lies relative to the object's allocated region. */
export function describeObjectAddr(addr: bigint, object: KasanObjectInfo, bug: string): string[] {
  let relType: string;
  let relBytes: bigint;
  const size = BigInt(object.allocSize);
  if (addr < object.addr) {
    relType = 'to the left';
    relBytes = object.addr - addr;
  } else if (addr >= object.addr + size) {
    relType = 'to the right';
    relBytes = addr - (object.addr + size);
  } else {
    relType = 'inside';
    relBytes = addr - object.addr;
  }
  // Generic mode only: the region state follows the bug type.
  const regionState = bug === 'slab-out-of-bounds' ? 'allocated ' : bug === 'slab-use-after-free' ? 'freed ' : '';
  return [
    `The buggy address belongs to the object at ${px(object.addr)}`,
    ` which belongs to the cache ${object.cacheName} of size ${object.objectSize}`,
    `The buggy address is located ${BigInt.asIntN(32, relBytes)} bytes ${relType} of`,
    ` ${regionState}${object.allocSize}-byte region [${px(object.addr)}, ${px(object.addr + size)})`,
  ];
}

/** print_memory_metadata(): five rows of 16 shadow bytes around addr, '>' on its row and '^' under its byte. */
export function formatMemoryState(shadowAt: ShadowLookup, addr: bigint): string[] {
  const rowBytes = BigInt(META_MEM_BYTES_PER_ROW);
  let row = (addr & ~(rowBytes - 1n)) - BigInt(META_ROWS_AROUND_ADDR) * rowBytes;
  const out = ['Memory state around the buggy address:'];
  for (let i = -META_ROWS_AROUND_ADDR; i <= META_ROWS_AROUND_ADDR; i++) {
    const bytes: string[] = [];
    for (let j = 0n; j < BigInt(META_BYTES_PER_ROW); j++) {
      bytes.push((shadowAt(granuleOf(row & MASK64) + j) & 0xff).toString(16).padStart(2, '0'));
    }
    out.push(`${i === 0 ? '>' : ' '}${px(row)}: ${bytes.join(' ')}`);
    if (row <= addr && addr < row + rowBytes) {
      // meta_pointer_offset(): 3 + (BITS_PER_LONG / 8) * 2 + (addr - row) / 8 * 3 + 1, printed as "%*c".
      const offset = 3 + 16 + Number((addr - row) / BigInt(KASAN_GRANULE_SIZE)) * 3 + 1;
      out.push(`${' '.repeat(offset - 1)}^`);
    }
    row += rowBytes;
  }
  return out;
}

/** The "BUG: KASAN: ..." header of kasan_report() / kasan_report_invalid_free() and the bug type it names. */
export function reportBugType(r: KasanReport): string {
  if (r.kind !== 'access') return r.kind;
  const limits = r.limits ?? KASAN_LIMITS_X86_64;
  const size = r.accessSize ?? 0;
  const firstBad = findFirstBadAddr(r.shadowAt, r.accessAddr, size, limits);
  return accessBugType(r.shadowAt, r.accessAddr, size, firstBad, limits);
}

/**
 * The whole report as print_report() between start_report()'s and end_report()'s banners prints it (no log
 * level or timestamp prefixes), lines joined with '\n' and a final '\n'.
 */
export function formatKasanReport(r: KasanReport): string {
  const limits = r.limits ?? KASAN_LIMITS_X86_64;
  const size = r.accessSize ?? 0;
  const firstBad = r.kind === 'access' ? findFirstBadAddr(r.shadowAt, r.accessAddr, size, limits) : r.accessAddr;
  const bug = r.kind === 'access' ? accessBugType(r.shadowAt, r.accessAddr, size, firstBad, limits) : r.kind;
  const out: string[] = [BANNER, `BUG: KASAN: ${bug} in ${r.ip}`];
  if (r.kind !== 'access') {
    out.push(`Free of addr ${px(r.accessAddr)} by task ${r.comm}/${r.pid}`);
  } else if (size) {
    out.push(`${r.isWrite ? 'Write' : 'Read'} of size ${size} at addr ${px(r.accessAddr)} by task ${r.comm}/${r.pid}`);
  } else {
    out.push(`${r.isWrite ? 'Write' : 'Read'} at addr ${px(r.accessAddr)} by task ${r.comm}/${r.pid}`);
  }
  out.push('');
  if (r.accessAddr < limits.metadataStart) {
    out.push(...r.stack, BANNER);
    return out.join('\n') + '\n';
  }
  // print_address_description()
  out.push(...r.stack, '');
  if (r.object) {
    const o = r.object;
    if (o.allocTrack) out.push(`Allocated by task ${o.allocTrack.pid}:`, ...o.allocTrack.stack, '');
    if (o.freeTrack) out.push(`Freed by task ${o.freeTrack.pid}:`, ...o.freeTrack.stack, '');
    // kasan_print_aux_stacks()
    const [aux0, aux1] = o.auxStacks ?? [];
    if (aux0) out.push('Last potentially related work creation:', ...aux0, '');
    if (aux1) out.push('Second to last potentially related work creation:', ...aux1, '');
    out.push(...describeObjectAddr(r.accessAddr, o, bug), '');
  }
  if (r.variable !== undefined) out.push('The buggy address belongs to the variable:', ` ${r.variable}`, '');
  if (r.stackFrame) out.push(...r.stackFrame, '');
  if (r.vmArea) {
    out.push(
      'The buggy address belongs to the virtual mapping at',
      ` [${px(r.vmArea.start)}, ${px(r.vmArea.end)}) created by:`,
      ` ${r.vmArea.caller}`,
      '',
    );
  }
  if (r.page) {
    out.push(
      'The buggy address belongs to the physical page:',
      ...r.page.lines,
      'page dumped because: kasan: bad access detected',
      ...(r.page.ownerLines ?? []),
      '',
    );
  }
  out.push(...formatMemoryState(r.shadowAt, firstBad), BANNER);
  return out.join('\n') + '\n';
}
