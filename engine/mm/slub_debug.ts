/*
 * SLUB debugging (CONFIG_SLUB_DEBUG, the slab_debug= boot option, alias slub_debug=) as mm/slub.c of
 * Linux 6.12 does it, independent of the engine: the option parser, the debug object layout, the bytes the
 * allocator writes into and checks around each object, and the reports it prints.
 *
 * Object layout with debugging (offsets from the object, which starts red_left_pad bytes into its slot):
 *
 *   [-red_left_pad, 0)        left red zone: SLUB_RED_INACTIVE (0xbb) while free, SLUB_RED_ACTIVE (0xcc) in use
 *   [0, object_size)          the object; poisoned POISON_FREE (0x6b)... with POISON_END (0xa5) last
 *                             (__OBJECT_POISON); for kmalloc with orig_size only the first orig_size bytes
 *                             are poisoned in use and the rest is red zone ("kmalloc Redzone")
 *   [object_size, inuse)      right red zone (at least a word with SLAB_RED_ZONE)
 *   [inuse, inuse + 8)        the free pointer, when it may not overlay the object (freeptr_outside_object)
 *   [info_end, +2*TRACK_SIZE) struct track alloc, free (SLAB_STORE_USER)
 *   [.., +4)                  orig_size, unsigned int (SLAB_STORE_USER and SLAB_KMALLOC)
 *   [pad_start, size - red_left_pad)  padding, POISON_INUSE (0x5a); at least a word with SLAB_RED_ZONE
 *
 * Invariants: with no debug flag the layout is slabGeometry()'s (size, inuse, offset); every check only reads
 * and rewrites bytes inside the slot it checks, never throws on any byte values, and restores what it reports
 * (restore_bytes), as the kernel does. KASAN is not modelled: kasan_metadata_size() is 0 everywhere.
 *
 * Reports are printed line by line into a caller's sink in the kernel's order and format. %p prints the raw
 * address (16 hex digits): kmem_cache_init() calls no_hash_pointers_enable() whenever slab debugging is on,
 * so the emulated kernel prints unhashed pointers. %pS (symbols) and %pGp (page flags) are the caller's
 * strings; the taint state (print_tainted, add_taint) is the caller's too, shared across reports.
 *
 * Version notes (6.12): check_object() runs every check and prints the trailer once at its end (since 6.11);
 * restore_bytes() runs before that trailer, so the hex dump shows restored bytes (6.15 reordered this);
 * orig_size is an unsigned int (unsigned long only since late 2025); struct track holds a stack depot handle;
 * every report ends with dump_stack() before its add_taint(): print_trailer() (so object_err() and
 * check_object()'s trailer) and slab_err() call it, and so does trace() (later kernels WARN_ON() instead).
 */

import { physToVirt } from './address';
import { KasanCacheInfo, kasanCacheCreate, kasanMetadataSize } from './kasan';
import { PAGE_SIZE, getOrder } from './config';
import {
  SLAB_CONSISTENCY_CHECKS,
  SLAB_KMALLOC,
  SLAB_POISON,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SLAB_TRACE,
  SLAB_TYPESAFE_BY_RCU,
  calculateAlignment,
} from './slub';

/* include/linux/poison.h */
export const POISON_INUSE = 0x5a;
export const POISON_FREE = 0x6b;
export const POISON_END = 0xa5;
export const SLUB_RED_INACTIVE = 0xbb;
export const SLUB_RED_ACTIVE = 0xcc;

/** sizeof(void *) on the 64-bit machines the emulator models. */
const WORD = 8;
/** sizeof(struct track) with CONFIG_STACKDEPOT: addr 8, handle 4, cpu 4, pid 4, hole 4, when 8. */
export const TRACK_SIZE = 32;
/** sizeof(unsigned int): the orig_size word of 6.12. */
export const ORIG_SIZE_SIZE = 4;
/** kasan_metadata_size(): no KASAN in the emulator. */

/** DEBUG_DEFAULT_FLAGS: what slab_debug with no letters turns on (F, Z, P, U). */
export const DEBUG_DEFAULT_FLAGS = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER;
/** DEBUG_METADATA_FLAGS: the flags slab_debug=O drops from a cache whose minimum order they would raise. */
export const DEBUG_METADATA_FLAGS = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER;

const align = (x: number, a: number): number => Math.ceil(x / a) * a;

/* ------------------------------------------------------------------------------------------------------ */
/* slab_debug= parsing: setup_slub_debug(), parse_slub_debug_flags(), kmem_cache_flags()                   */
/* ------------------------------------------------------------------------------------------------------ */

/** One ';'-separated block of the option: flags, and the cache list when it has one. */
export interface SlabDebugBlock {
  /** Offset of the block's first character in the option value. */
  readonly offset: number;
  /** The debug flags the block's letters set (DEBUG_DEFAULT_FLAGS for a block that starts with ','). */
  readonly flags: number;
  /** 'A' (SLAB_FAILSLAB): recorded; with CONFIG_FAILSLAB off (the modelled config) it is flag 0. */
  readonly failslab: boolean;
  /** 'O': don't debug caches whose minimum order the metadata would raise. */
  readonly higherOrderDisable: boolean;
  /** The cache names (a trailing '*' globs), or undefined for a global block. */
  readonly slabs: readonly string[] | undefined;
}

/** The boot-time state setup_slub_debug() leaves behind. */
export interface SlabDebugConfig {
  /** slub_debug: the flags of every cache no block names. */
  readonly globalFlags: number;
  /** slub_debug_string: the option text kmem_cache_flags() re-parses, kept when a block lists caches. */
  readonly debugString: string | undefined;
  readonly blocks: readonly SlabDebugBlock[];
  /** disable_higher_order_debug (some block had 'O'). */
  readonly disableHigherOrderDebug: boolean;
  /** The slub_debug_enabled static key. */
  readonly enabled: boolean;
}

/** A diagnostic the kernel prints and goes on: "slab_debug option '%c' unknown. skipped". */
export interface SlabDebugMessage {
  readonly message: string;
  readonly offset: number;
}

export type SlabDebugParseResult =
  | { readonly ok: true; readonly config: SlabDebugConfig; readonly warnings: readonly SlabDebugMessage[] }
  | { readonly ok: false; readonly error: SlabDebugMessage };

/** The C string view: '\0' past the end. */
const at = (s: string, i: number): string => (i < s.length ? s[i]! : '\0');

interface ParsedBlock {
  flags: number;
  failslab: boolean;
  higherOrderDisable: boolean;
  /** Index of the cache list in the string, or undefined. */
  slabs: number | undefined;
  /** Index of the next block, or undefined at the end (the kernel's NULL). */
  next: number | undefined;
}

/** The letter of parse_slub_debug_flags()'s switch, as a flag (0 for the ones without an emulator bit). */
const LETTER_FLAGS: Readonly<Record<string, number>> = {
  f: SLAB_CONSISTENCY_CHECKS,
  z: SLAB_RED_ZONE,
  p: SLAB_POISON,
  u: SLAB_STORE_USER,
  t: SLAB_TRACE,
};

/** parse_slub_debug_flags(): one block from index i; unknown letters warn only when init (setup) parses. */
function parseSlubDebugFlags(str: string, i: number, init: boolean, warnings: SlabDebugMessage[]): ParsedBlock {
  const b: ParsedBlock = { flags: 0, failslab: false, higherOrderDisable: false, slabs: undefined, next: undefined };
  while (at(str, i) === ';') i++; // skip any completely empty blocks
  if (at(str, i) === ',') {
    b.flags = DEBUG_DEFAULT_FLAGS; // no options but a cache list: full debugging for those caches
  } else {
    for (; at(str, i) !== '\0' && at(str, i) !== ',' && at(str, i) !== ';'; i++) parseLetter(str, i, b, init, warnings);
  }
  b.slabs = at(str, i) === ',' ? ++i : undefined;
  while (at(str, i) !== '\0' && at(str, i) !== ';') i++; // skip over the slab list
  while (at(str, i) === ';') i++;
  b.next = at(str, i) !== '\0' ? i : undefined;
  return b;
}

/** One case of parse_slub_debug_flags()'s switch (tolower(*str)). */
function parseLetter(str: string, i: number, b: ParsedBlock, init: boolean, warnings: SlabDebugMessage[]): void {
  const c = str[i]!.toLowerCase();
  if (c === '-') b.flags = 0;
  else if (c in LETTER_FLAGS) b.flags |= LETTER_FLAGS[c]!;
  else if (c === 'a') b.failslab = true;
  else if (c === 'o') b.higherOrderDisable = true;
  else if (init) warnings.push({ message: `slab_debug option '${str[i]}' unknown. skipped`, offset: i });
}

/** Where a slab list of block b ends (before the ';' or the end), for the block summary. */
function slabList(str: string, b: ParsedBlock): string[] | undefined {
  if (b.slabs === undefined) return undefined;
  let end = b.slabs;
  while (at(str, end) !== '\0' && at(str, end) !== ';') end++;
  return str.slice(b.slabs, end).split(',');
}

/**
 * setup_slub_debug() for the text after "slab_debug" (or "slub_debug") on the command line: `value` is what
 * follows '=' (undefined for a bare "slab_debug"). A bare option, or an empty value, means full debugging of
 * every cache (DEBUG_DEFAULT_FLAGS). `debugOn` is CONFIG_SLUB_DEBUG_ON (slub_debug's initial value; off in
 * distribution kernels). The kernel never rejects the option: unknown letters are printed and skipped, which
 * this returns as warnings. The only error is text the command line cannot carry in one parameter
 * (whitespace or a NUL ends a parameter before the kernel sees the rest).
 */
export function parseSlabDebug(value: string | undefined, debugOn = false): SlabDebugParseResult {
  const bad = value === undefined ? -1 : value.search(/[\s\0]/);
  if (bad >= 0) return { ok: false, error: { message: 'slab_debug value ends at whitespace', offset: bad } };
  const warnings: SlabDebugMessage[] = [];
  const blocks: SlabDebugBlock[] = [];
  let globalFlags = DEBUG_DEFAULT_FLAGS;
  let debugString: string | undefined;
  let disableHigherOrderDebug = false;
  if (value !== undefined && value !== '') {
    let changed = false;
    let listed = false;
    for (let i: number | undefined = 0; i !== undefined;) {
      const offset: number = i;
      const b = parseSlubDebugFlags(value, i, true, warnings);
      const slabs = slabList(value, b);
      blocks.push({ offset, flags: b.flags, failslab: b.failslab, higherOrderDisable: b.higherOrderDisable, slabs });
      if (b.higherOrderDisable) disableHigherOrderDebug = true;
      if (slabs === undefined) {
        globalFlags = b.flags;
        changed = true;
      } else listed = true;
      i = b.next;
    }
    // A single list of flags with a list of slabs changes debugging only for those slabs.
    if (listed) {
      if (!changed) globalFlags = debugOn ? DEBUG_DEFAULT_FLAGS : 0;
      debugString = value;
    }
  }
  const enabled = globalFlags !== 0 || debugString !== undefined;
  return { ok: true, config: { globalFlags, debugString, blocks, disableHigherOrderDebug, enabled }, warnings };
}

/** Cache-creation flags kmem_cache_flags() looks at besides the debug ones. */
export interface KmemCacheFlagsOptions {
  /** SLAB_NO_USER_FLAGS: the cache ignores slab_debug= (the SLUB KUnit tests create theirs so). */
  readonly noUserFlags?: boolean;
  /** SLAB_NOLEAKTRACE: no SLAB_STORE_USER from the global flags (kmemleak's own caches). */
  readonly noLeakTrace?: boolean;
}

/**
 * kmem_cache_flags() of 6.12: the flags a cache named `cacheName` created with `requestedFlags` gets. The
 * first block whose list names the cache gives its flags (the global ones are then not added); a list entry
 * matches the whole name, or the name's prefix up to a '*' in the entry.
 */
export function slabDebugFlags(
  config: SlabDebugConfig,
  cacheName: string,
  requestedFlags: number,
  options: KmemCacheFlagsOptions = {},
): number {
  if (options.noUserFlags) return requestedFlags;
  const local = options.noLeakTrace ? config.globalFlags & ~SLAB_STORE_USER : config.globalFlags;
  const str = config.debugString;
  for (let next: number | undefined = str === undefined ? undefined : 0; next !== undefined;) {
    const b = parseSlubDebugFlags(str!, next, false, []);
    next = b.next;
    if (b.slabs !== undefined && listNames(str!, b.slabs, next, cacheName)) return requestedFlags | b.flags;
  }
  return requestedFlags | local;
}

/** kmem_cache_flags()'s walk of one cache list from index iter, with its strncmp() quirks kept. */
function listNames(str: string, iter: number, nextBlock: number | undefined, name: string): boolean {
  while (at(str, iter) !== '\0') {
    let end = str.indexOf(',', iter);
    if (end < 0) end = str.length; // strchrnul
    if (nextBlock !== undefined && nextBlock < end) end = nextBlock - 1;
    const glob = str.slice(iter, end).indexOf('*');
    const cmplen = glob >= 0 ? glob : Math.max(name.length, end - iter);
    if (strncmpEq(name, str, iter, cmplen)) return true;
    if (at(str, end) === '\0' || at(str, end) === ';') break;
    iter = end + 1;
  }
  return false;
}

/** !strncmp(name, str + from, n), with both strings NUL-terminated. */
function strncmpEq(name: string, str: string, from: number, n: number): boolean {
  for (let k = 0; k < n; k++) {
    const a = at(name, k);
    if (a !== at(str, from + k)) return false;
    if (a === '\0') return true;
  }
  return true;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Geometry: calculate_sizes()                                                                              */
/* ------------------------------------------------------------------------------------------------------ */

/** A debug cache's object layout; offsets are from the object (slot start + redLeftPad). */
export interface SlubDebugLayout {
  /** s->object_size. */
  readonly objectSize: number;
  /** s->align. */
  readonly align: number;
  /** s->flags as given (SLAB_*). */
  readonly flags: number;
  /** __OBJECT_POISON: the object itself is poisoned (SLAB_POISON without RCU or a constructor). */
  readonly objectPoison: boolean;
  /** s->size: the slot. */
  readonly size: number;
  /** s->inuse: object plus right red zone. */
  readonly inuse: number;
  /** s->offset: the free pointer. */
  readonly offset: number;
  /** s->red_left_pad (0 without SLAB_RED_ZONE). */
  readonly redLeftPad: number;
  /** get_info_end(): past the free pointer when it is outside the object, else inuse. */
  readonly infoEnd: number;
  /** get_track(TRACK_ALLOC); TRACK_FREE follows. Undefined without SLAB_STORE_USER. */
  readonly trackOffset: number | undefined;
  /** Where orig_size is stored, when slub_debug_orig_size() (SLAB_STORE_USER and SLAB_KMALLOC). */
  readonly origSizeOffset: number | undefined;
  /** check_pad_bytes()'s and print_trailer()'s `off`: where the padding starts. */
  readonly padStart: number;
  /** size_from_object(): s->size less the left red zone. */
  readonly sizeFromObject: number;
  /** kasan_metadata_size(s, true): KASAN's free meta inside the object (0 without KASAN). */
  readonly kasanMetaInObject: number;
  /** kasan_cache_create()'s kasan_info, with KASAN. */
  readonly kasan?: KasanCacheInfo;
}

/** freeptr_outside_object(). */
export function freeptrOutsideObject(layout: SlubDebugLayout): boolean {
  return layout.offset >= layout.inuse;
}

/** slub_debug_orig_size(): kmalloc caches that store user tracking also keep the requested size. */
function debugOrigSize(flags: number): boolean {
  return (flags & SLAB_STORE_USER) !== 0 && (flags & SLAB_KMALLOC) !== 0;
}

/** calculate_sizes()'s choice of s->offset, and the size after an outside free pointer. */
function placeFreePointer(
  size: number,
  objectSize: number,
  flags: number,
  hasCtor: boolean,
  freeptrOffset: number | undefined,
): { offset: number; size: number } {
  const rcu = (flags & SLAB_TYPESAFE_BY_RCU) !== 0;
  const redZone = (flags & SLAB_RED_ZONE) !== 0;
  if (
    (rcu && freeptrOffset === undefined) ||
    flags & SLAB_POISON ||
    hasCtor ||
    (redZone && (objectSize < WORD || debugOrigSize(flags)))
  ) {
    return { offset: size, size: size + WORD }; // may not overwrite the object on free: after it
  }
  if (rcu && freeptrOffset !== undefined) return { offset: freeptrOffset, size }; // kmem_cache_args
  return { offset: Math.floor(Math.floor(objectSize / 2) / WORD) * WORD, size }; // mid-object
}

/**
 * calculate_sizes() of 6.12 up to calculate_order(): the slot layout of a cache of `objectSize`-byte objects
 * aligned to `align` (s->align, after calculate_alignment()) with `flags`. `freeptrOffset` is
 * kmem_cache_args.freeptr_offset (use_freeptr_offset) of a SLAB_TYPESAFE_BY_RCU cache.
 */
export function debugCalculateSizes(
  objectSize: number,
  alignment: number,
  flags: number,
  hasCtor: boolean,
  freeptrOffset?: number,
  kasan = false,
): SlubDebugLayout {
  let size = align(objectSize, WORD);
  const objectPoison = (flags & SLAB_POISON) !== 0 && !(flags & SLAB_TYPESAFE_BY_RCU) && !hasCtor;
  if (flags & SLAB_RED_ZONE && size === objectSize) size += WORD; // room for a right red zone
  const inuse = size;
  const fp = placeFreePointer(size, objectSize, flags, hasCtor, freeptrOffset);
  size = fp.size;
  if (flags & SLAB_STORE_USER) size += 2 * TRACK_SIZE + (flags & SLAB_KMALLOC ? ORIG_SIZE_SIZE : 0);
  // kasan_cache_create(): alloc meta, free meta and a redzone after the tracks (slab_debug= is on).
  const kasanInfo = kasan
    ? kasanCacheCreate(objectSize, size, {
        ctor: hasCtor,
        typesafeByRcu: (flags & SLAB_TYPESAFE_BY_RCU) !== 0,
        slubDebugEnabled: true,
      })
    : undefined;
  if (kasanInfo) size = kasanInfo.size;
  let redLeftPad = 0;
  if (flags & SLAB_RED_ZONE) {
    size += WORD; // padding to catch writes before the next object
    redLeftPad = align(WORD, alignment);
    size += redLeftPad;
  }
  size = align(size, alignment);
  const kasanOutside = kasanInfo ? kasanMetadataSize(kasanInfo, false) : 0;
  const kasanInside = kasanInfo ? kasanMetadataSize(kasanInfo, true) : 0;
  const layout = layoutOf(
    objectSize,
    alignment,
    flags,
    objectPoison,
    size,
    inuse,
    fp.offset,
    redLeftPad,
    kasanOutside,
    kasanInside,
  );
  return kasanInfo ? { ...layout, kasan: kasanInfo } : layout;
}

/** The derived offsets (get_info_end(), get_track(), orig_size, check_pad_bytes()'s off). */
function layoutOf(
  objectSize: number,
  alignment: number,
  flags: number,
  objectPoison: boolean,
  size: number,
  inuse: number,
  offset: number,
  redLeftPad: number,
  kasanOutside = 0,
  kasanInside = 0,
): SlubDebugLayout {
  const infoEnd = offset >= inuse ? inuse + WORD : inuse;
  const user = (flags & SLAB_STORE_USER) !== 0;
  const origSizeOffset = debugOrigSize(flags) ? infoEnd + 2 * TRACK_SIZE : undefined;
  const padStart =
    infoEnd + (user ? 2 * TRACK_SIZE : 0) + (origSizeOffset !== undefined ? ORIG_SIZE_SIZE : 0) + kasanOutside;
  return {
    objectSize,
    align: alignment,
    flags,
    objectPoison,
    size,
    inuse,
    offset,
    redLeftPad,
    infoEnd,
    trackOffset: user ? infoEnd : undefined,
    origSizeOffset,
    padStart,
    sizeFromObject: size - redLeftPad,
    kasanMetaInObject: kasanInside,
  };
}

/**
 * do_kmem_cache_create()'s use of calculate_sizes(): with slab_debug=O, a cache whose minimum order the
 * metadata raises (get_order(size) > get_order(object_size)) loses DEBUG_METADATA_FLAGS and is laid out again.
 */
export function kmemCacheDebugLayout(
  objectSize: number,
  alignment: number,
  flags: number,
  hasCtor: boolean,
  options: { disableHigherOrderDebug?: boolean; freeptrOffset?: number; kasan?: boolean } = {},
): SlubDebugLayout {
  const layout = debugCalculateSizes(objectSize, alignment, flags, hasCtor, options.freeptrOffset, options.kasan);
  if (!options.disableHigherOrderDebug || getOrder(layout.size) <= getOrder(objectSize)) return layout;
  const plain = flags & ~DEBUG_METADATA_FLAGS;
  return debugCalculateSizes(objectSize, alignment, plain, hasCtor, options.freeptrOffset, options.kasan);
}

/**
 * create_boot_cache()'s alignment of a kmalloc cache (mm/slab_common.c): at least the largest power of two
 * dividing the size (ARCH_KMALLOC_MINALIGN is 8 on x86-64 and RISC-V), then calculate_alignment().
 */
export function kmallocAlign(size: number): number {
  const pow2 = size & -size;
  return calculateAlignment(false, Math.max(8, pow2), size);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Object bytes: init_object(), tracks, orig_size                                                           */
/* ------------------------------------------------------------------------------------------------------ */

/** Byte access to emulated memory by physical address. */
export interface DebugMemory {
  read(addr: number, len: number): Uint8Array;
  write(addr: number, bytes: Uint8Array): void;
  /** memset() in place, when the memory can do it without a buffer. */
  fill?(addr: number, len: number, value: number): void;
  /** memchr_inv() in place: the offset of the first byte of [addr, addr + len) other than value, or -1. */
  scan?(addr: number, len: number, value: number): number;
}

function fill(mem: DebugMemory, addr: number, value: number, len: number): void {
  if (len <= 0) return;
  if (mem.fill) mem.fill(addr, len, value);
  else mem.write(addr, new Uint8Array(len).fill(value));
}

/** get_orig_size(): the stored kmalloc request size, or object_size when the cache keeps none. */
export function getOrigSize(mem: DebugMemory, layout: SlubDebugLayout, object: number): number {
  if (layout.origSizeOffset === undefined) return layout.objectSize;
  const b = mem.read(object + layout.origSizeOffset, ORIG_SIZE_SIZE);
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
}

/** set_orig_size(): stores the kmalloc request size (no KASAN, so no minimum from its metadata). */
export function setOrigSize(mem: DebugMemory, layout: SlubDebugLayout, object: number, origSize: number): void {
  if (layout.origSizeOffset === undefined) return;
  const b = new Uint8Array(ORIG_SIZE_SIZE);
  new DataView(b.buffer).setUint32(0, origSize >>> 0, true);
  mem.write(object + layout.origSizeOffset, b);
}

/**
 * init_object(): red zones set to `val` (SLUB_RED_ACTIVE or SLUB_RED_INACTIVE), the object poisoned. When
 * the cache keeps orig_size and the object goes into use, only orig_size bytes are poisoned and the rest of
 * the object is red zone too. (A stored orig_size above object_size, which only corrupt metadata gives, is
 * taken as object_size here; the kernel would write past the slot.)
 */
export function initObject(mem: DebugMemory, layout: SlubDebugLayout, object: number, val: number): void {
  const redZone = (layout.flags & SLAB_RED_ZONE) !== 0;
  let poisonSize = layout.objectSize;
  if (redZone) {
    fill(mem, object - layout.redLeftPad, val, layout.redLeftPad);
    if (layout.origSizeOffset !== undefined && val === SLUB_RED_ACTIVE) {
      poisonSize = Math.min(getOrigSize(mem, layout, object), layout.objectSize);
    }
  }
  if (layout.objectPoison && poisonSize > 0) {
    fill(mem, object, POISON_FREE, poisonSize - 1);
    fill(mem, object + poisonSize - 1, POISON_END, 1);
  }
  if (redZone) fill(mem, object + poisonSize, val, layout.inuse - poisonSize);
}

/** setup_slab_debug(): a new SLAB_POISON slab is filled with POISON_INUSE before its objects are set up. */
export function setupSlabDebug(mem: DebugMemory, layout: SlubDebugLayout, slabBase: number, slabBytes: number): void {
  if (layout.flags & SLAB_POISON) fill(mem, slabBase, POISON_INUSE, slabBytes);
}

/** setup_object_debug(): each object of a new slab gets init_object(SLUB_RED_INACTIVE) and zeroed tracks. */
export function setupObjectDebug(mem: DebugMemory, layout: SlubDebugLayout, object: number): void {
  if (!(layout.flags & (SLAB_STORE_USER | SLAB_RED_ZONE)) && !layout.objectPoison) return;
  initObject(mem, layout, object, SLUB_RED_INACTIVE);
  initTracking(mem, layout, object);
}

/** enum track_item. */
export const TRACK_ALLOC = 0;
export const TRACK_FREE = 1;
export type TrackItem = typeof TRACK_ALLOC | typeof TRACK_FREE;

/**
 * struct track as stored (little-endian): addr at 0, handle at 8, cpu at 12, pid at 16, when at 24. In the
 * emulator addr is a fake but stable code address of the caller (the engine's choice, resolved back by the
 * report's symbol()), handle a caller-chosen stack depot id (0 = no stack saved), when the jiffies count.
 */
export interface Track {
  readonly addr: bigint;
  readonly handle: number;
  readonly cpu: number;
  readonly pid: number;
  readonly when: bigint;
}

function encodeTrack(t: Track): Uint8Array {
  const b = new Uint8Array(TRACK_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt.asUintN(64, t.addr), true);
  v.setUint32(8, t.handle >>> 0, true);
  v.setInt32(12, t.cpu | 0, true);
  v.setInt32(16, t.pid | 0, true);
  v.setBigUint64(24, BigInt.asUintN(64, t.when), true);
  return b;
}

/** set_track_update(): records who allocated or freed the object (SLAB_STORE_USER); false when not kept. */
export function setTrack(
  mem: DebugMemory,
  layout: SlubDebugLayout,
  object: number,
  item: TrackItem,
  track: Track,
): boolean {
  if (layout.trackOffset === undefined) return false;
  const b = encodeTrack(track);
  // set_track_update() writes the fields one by one: the hole at 20 keeps what it had.
  const hole = mem.read(object + layout.trackOffset + item * TRACK_SIZE + 20, 4);
  b.set(hole, 20);
  mem.write(object + layout.trackOffset + item * TRACK_SIZE, b);
  return true;
}

/** get_track(): the stored track (any bytes decode; nothing is validated). */
export function getTrack(
  mem: DebugMemory,
  layout: SlubDebugLayout,
  object: number,
  item: TrackItem,
): Track | undefined {
  if (layout.trackOffset === undefined) return undefined;
  const b = mem.read(object + layout.trackOffset + item * TRACK_SIZE, TRACK_SIZE);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    addr: v.getBigUint64(0, true),
    handle: v.getUint32(8, true),
    cpu: v.getInt32(12, true),
    pid: v.getInt32(16, true),
    when: v.getBigUint64(24, true),
  };
}

/** init_tracking(): both tracks zeroed (memset of 2 * sizeof(struct track)). */
export function initTracking(mem: DebugMemory, layout: SlubDebugLayout, object: number): void {
  if (layout.trackOffset !== undefined) fill(mem, object + layout.trackOffset, 0, 2 * TRACK_SIZE);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Reports: slab_bug(), slab_fix(), print_trailer(), object_err(), slab_err()                              */
/* ------------------------------------------------------------------------------------------------------ */

/** kernel/panic.c taint_flags[] of 6.12 (TAINT_FLAGS_COUNT 19): the letter when set, when clear, the name. */
const TAINT_FLAGS: readonly (readonly [string, string, string])[] = [
  ['P', 'G', 'PROPRIETARY_MODULE'],
  ['F', ' ', 'FORCED_MODULE'],
  ['S', ' ', 'CPU_OUT_OF_SPEC'],
  ['R', ' ', 'FORCED_RMMOD'],
  ['M', ' ', 'MACHINE_CHECK'],
  ['B', ' ', 'BAD_PAGE'],
  ['U', ' ', 'USER'],
  ['D', ' ', 'DIE'],
  ['A', ' ', 'OVERRIDDEN_ACPI_TABLE'],
  ['W', ' ', 'WARN'],
  ['C', ' ', 'CRAP'],
  ['I', ' ', 'FIRMWARE_WORKAROUND'],
  ['O', ' ', 'OOT_MODULE'],
  ['E', ' ', 'UNSIGNED_MODULE'],
  ['L', ' ', 'SOFTLOCKUP'],
  ['K', ' ', 'LIVEPATCH'],
  ['X', ' ', 'AUX'],
  ['T', ' ', 'RANDSTRUCT'],
  ['N', ' ', 'TEST'],
];
/** TAINT_WARN: a WARN() or a might_sleep splat happened. */
export const TAINT_WARN = 9;
export const TAINT_BAD_PAGE = 5;

/** The kernel's taint state: tainted_mask and lib/debug_locks.c debug_locks. Shared by all reports. */
export interface TaintState {
  mask: number;
  debugLocks: boolean;
}

export function newTaintState(): TaintState {
  return { mask: 0, debugLocks: true };
}

/** print_tainted(): "Not tainted", or "Tainted: " and one letter or blank per flag ("G    B             "). */
export function printTainted(mask: number): string {
  if (!mask) return 'Not tainted';
  return 'Tainted: ' + TAINT_FLAGS.map(([on, off], i) => (mask & (1 << i) ? on : off)).join('');
}

/**
 * dump_stack_print_info()'s first lines (6.12): "CPU: %d UID: %u PID: %d Comm: %.20s %s %s %.*s" and, when the
 * kernel is tainted, print_tainted_verbose()'s "Tainted: [B]=BAD_PAGE, [W]=WARN" (one "[X]=NAME" per flag set).
 */
export function dumpStackHeader(cpu: number, pid: number, comm: string, taintMask: number): string[] {
  const lines = [`CPU: ${cpu} UID: 0 PID: ${pid} Comm: ${comm} ${printTainted(taintMask)} 6.12.0 #1`];
  const set = TAINT_FLAGS.flatMap(([letter, , name], i) => (taintMask & (1 << i) ? [`[${letter}]=${name}`] : []));
  if (set.length > 0) lines.push(`Tainted: ${set.join(', ')}`);
  return lines;
}

/**
 * dump_stack() of 6.12 (lib/dump_stack.c): dump_stack() is a tail call of dump_stack_lvl(KERN_DEFAULT), which
 * prints dump_stack_print_info()'s `header` (dumpStackHeader()), then show_stack() -> x86
 * show_trace_log_lvl(): "Call Trace:" and the frames between the markers of the stack they are on (" <TASK>"
 * ... " </TASK>", or " <IRQ>" on the interrupt stack). The trace starts at dump_stack_lvl; `frames` are the
 * kernel functions above it, innermost first, and `caller` the %pS of the scenario line that called into the
 * kernel. The emulator has no kernel text, so every function prints as "name+0x0/0x0".
 */
export function dumpStackLines(
  header: readonly string[],
  frames: readonly string[],
  caller: string,
  section: 'TASK' | 'IRQ' = 'TASK',
): string[] {
  return [
    ...header,
    'Call Trace:',
    ` <${section}>`,
    ' dump_stack_lvl+0x0/0x0',
    ...frames.map((f) => ` ${f}+0x0/0x0`),
    ` ${caller}`,
    ` </${section}>`,
  ];
}

/** What a report needs beyond the cache's bytes: names, slab state, time, symbols and the log sink. */
export interface SlubReportContext {
  /** s->name. */
  readonly cacheName: string;
  /** Shared across reports: add_taint(TAINT_BAD_PAGE) sets it, later banners print it. */
  readonly taint: TaintState;
  /** One printk line (no newline); '' is an empty line. */
  printk(line: string): void;
  /** slab_address(slab): the slab's first byte (physical). */
  readonly slabBase: number;
  /** print_slab_info(): the struct slab's address, counters, freelist and its %pGp flags string. */
  readonly slab: {
    readonly address: bigint;
    readonly objects: number;
    readonly inuse: number;
    readonly freelist: bigint;
    readonly flags: string;
  };
  /** jiffies now, for the tracks' age. */
  readonly jiffies: bigint;
  /** %pS of a code address ("func+0x1c/0x80"). */
  symbol(addr: bigint): string;
  /** The %pS of the stack depot entries behind a handle (empty when it holds none). */
  stack(handle: number): readonly string[];
  /** The kernel virtual address printed for a physical one; the direct map when absent. */
  virt?(phys: number): bigint;
  /**
   * dump_stack()'s lines ("CPU: ...", "Call Trace:" ...); none when absent. `callers` are the report's own
   * functions from dump_stack()'s caller outwards, innermost first (["print_trailer", "object_err"],
   * ["slab_err", "slab_pad_check"], ["trace"] ...): the context adds the path that led to them. Called before
   * the report's add_taint(), so the first report of a run prints "Not tainted" here too.
   */
  dumpStack?(callers: readonly string[]): readonly string[];
}

/** The engine's side of the free pointer (decoding and validity need the slab). */
export interface FreePointerOps {
  /** get_freepointer(s, object): the decoded pointer, 0n for NULL. */
  get(object: number): bigint;
  /** check_valid_pointer() for a non-NULL pointer: the start of an object of the slab. */
  valid(ptr: bigint): boolean;
  /** set_freepointer(s, object, NULL). */
  setNull(object: number): void;
}

/** %p with no_hash_pointers: the pointer as 16 lowercase hex digits. */
export function formatPointer(p: bigint): string {
  return BigInt.asUintN(64, p).toString(16).padStart(16, '0');
}

const virtOf = (ctx: SlubReportContext, phys: number): bigint => (ctx.virt ? ctx.virt(phys) : physToVirt(phys));

/** hex_dump_to_buffer(rowsize 16, groupsize 1, ascii): "xx xx ..." padded to column 49, then the text. */
export function hexDumpLine(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return hex.padEnd(49, ' ') + text;
}

/** print_hex_dump(KERN_ERR, text, DUMP_PREFIX_ADDRESS, 16, 1, addr, len, 1): "<text><%p>: <line>". */
export function printHexDump(prefix: string, virt: bigint, bytes: Uint8Array): string[] {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    lines.push(`${prefix}${formatPointer(virt + BigInt(i))}: ${hexDumpLine(bytes.subarray(i, i + 16))}`);
  }
  return lines;
}

/** print_section(). */
function printSection(ctx: SlubReportContext, mem: DebugMemory, text: string, addr: number, len: number): void {
  if (len <= 0) return;
  for (const line of printHexDump(text, virtOf(ctx, addr), mem.read(addr, len))) ctx.printk(line);
}

/** slab_bug(): the banner and "BUG <cache> (<taint>): <message>". */
export function slabBug(ctx: SlubReportContext, message: string): void {
  ctx.printk('=============================================================================');
  ctx.printk(`BUG ${ctx.cacheName} (${printTainted(ctx.taint.mask)}): ${message}`);
  ctx.printk('-----------------------------------------------------------------------------');
  ctx.printk('');
}

/** slab_fix(): "FIX <cache>: <message>". */
export function slabFix(ctx: SlubReportContext, message: string): void {
  ctx.printk(`FIX ${ctx.cacheName}: ${message}`);
}

/** add_taint(TAINT_BAD_PAGE, LOCKDEP_NOW_UNRELIABLE): the first one also turns lock debugging off. */
export function addTaint(ctx: SlubReportContext, flag = TAINT_BAD_PAGE): void {
  if (ctx.taint.debugLocks) {
    ctx.taint.debugLocks = false;
    ctx.printk('Disabling lock debugging due to kernel taint');
  }
  ctx.taint.mask |= 1 << flag;
}

/** print_track(): nothing for a track never set, else the caller, its age and its stack. */
function printTrack(ctx: SlubReportContext, label: string, t: Track | undefined, now: bigint): void {
  if (!t || t.addr === 0n) return;
  const age = BigInt.asUintN(64, now - t.when);
  ctx.printk(`${label} in ${ctx.symbol(t.addr)} age=${age} cpu=${t.cpu >>> 0} pid=${t.pid}`);
  if (t.handle === 0) {
    ctx.printk('object allocation/free stack trace missing');
    return;
  }
  for (const entry of ctx.stack(t.handle)) ctx.printk(` ${entry}`); // stack_trace_print(entries, n, 0)
}

/** print_tracking(). */
export function printTracking(ctx: SlubReportContext, mem: DebugMemory, layout: SlubDebugLayout, object: number): void {
  if (layout.trackOffset === undefined) return;
  const now = ctx.jiffies;
  printTrack(ctx, 'Allocated', getTrack(mem, layout, object, TRACK_ALLOC), now);
  printTrack(ctx, 'Freed', getTrack(mem, layout, object, TRACK_FREE), now);
}

/** print_slab_info(). */
export function printSlabInfo(ctx: SlubReportContext): void {
  const s = ctx.slab;
  ctx.printk(
    `Slab 0x${formatPointer(s.address)} objects=${s.objects} used=${s.inuse} fp=0x${formatPointer(s.freelist)} flags=${s.flags}`,
  );
}

/**
 * print_trailer(): tracks, slab, the object line and the hex dumps around the object, then dump_stack() (6.12
 * ends print_trailer() with it; later kernels print a WARN_ON() in its callers instead). `callers`: who called
 * print_trailer(), innermost first (object_err, check_object), for the stack.
 */
export function printTrailer(
  ctx: SlubReportContext,
  mem: DebugMemory,
  layout: SlubDebugLayout,
  object: number,
  freePointer?: FreePointerOps,
  callers: readonly string[] = [],
): void {
  printTracking(ctx, mem, layout, object);
  printSlabInfo(ctx);
  const fp = freePointer ? freePointer.get(object) : 0n;
  ctx.printk(
    `Object 0x${formatPointer(virtOf(ctx, object))} @offset=${object - ctx.slabBase} fp=0x${formatPointer(fp)}`,
  );
  ctx.printk('');
  const redZone = (layout.flags & SLAB_RED_ZONE) !== 0;
  if (redZone) printSection(ctx, mem, 'Redzone  ', object - layout.redLeftPad, layout.redLeftPad);
  else if (object > ctx.slabBase + 16) printSection(ctx, mem, 'Bytes b4 ', object - 16, 16);
  printSection(ctx, mem, 'Object   ', object, Math.min(layout.objectSize, PAGE_SIZE));
  if (redZone) printSection(ctx, mem, 'Redzone  ', object + layout.objectSize, layout.inuse - layout.objectSize);
  if (layout.padStart !== layout.sizeFromObject) {
    printSection(ctx, mem, 'Padding  ', object + layout.padStart, layout.sizeFromObject - layout.padStart);
  }
  dumpStack(ctx, ['print_trailer', ...callers]);
}

/** dump_stack() from the report function callers[0]: the context's lines, printed. */
function dumpStack(ctx: SlubReportContext, callers: readonly string[]): void {
  for (const line of ctx.dumpStack?.(callers) ?? []) ctx.printk(line);
}

/**
 * object_err(): a BUG about one object with its trailer (which ends with dump_stack()), then the taint:
 * add_taint() comes after the stack, so the stack's CPU line still says "Not tainted" on a first report.
 */
export function objectErr(
  ctx: SlubReportContext,
  mem: DebugMemory,
  layout: SlubDebugLayout,
  object: number,
  reason: string,
  freePointer?: FreePointerOps,
  callers: readonly string[] = [],
): void {
  slabBug(ctx, reason);
  printTrailer(ctx, mem, layout, object, freePointer, ['object_err', ...callers]);
  addTaint(ctx);
}

/**
 * slab_err(): a BUG about the slab (the message is vsnprintf'd into 100 bytes), slab info, dump_stack(), then
 * the taint. `callers`: who called slab_err(), innermost first (slab_pad_check, on_freelist ...).
 */
export function slabErr(ctx: SlubReportContext, message: string, callers: readonly string[] = []): void {
  slabBug(ctx, message.slice(0, 99));
  printSlabInfo(ctx);
  dumpStack(ctx, ['slab_err', ...callers]);
  addTaint(ctx);
}

/**
 * trace() (SLAB_TRACE): "TRACE <cache> alloc|free 0x<object> inuse=<n> fp=0x<freelist>", a free's bytes, then
 * dump_stack().
 */
export function traceObject(
  ctx: SlubReportContext,
  mem: DebugMemory,
  layout: SlubDebugLayout,
  object: number,
  alloc: boolean,
): void {
  if (!(layout.flags & SLAB_TRACE)) return;
  const s = ctx.slab;
  const kind = alloc ? 'alloc' : 'free';
  ctx.printk(
    `TRACE ${ctx.cacheName} ${kind} 0x${formatPointer(virtOf(ctx, object))} inuse=${s.inuse} fp=0x${formatPointer(s.freelist)}`,
  );
  if (!alloc) printSection(ctx, mem, 'Object ', object, layout.objectSize);
  dumpStack(ctx, ['trace']);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Checks: check_bytes_and_report(), check_object(), check_pad_bytes(), slab_pad_check()                    */
/* ------------------------------------------------------------------------------------------------------ */

/** A range that held other bytes than it should (check_bytes_and_report()); it has been restored. */
export interface ByteFinding {
  readonly kind: 'bytes';
  /** The kernel's name of the area: "Left Redzone", "Right Redzone", "kmalloc Redzone", "Alignment padding",
   * "Poison", "End Poison", "Object padding", or "slab padding". */
  readonly what: string;
  /** The range checked. */
  readonly start: number;
  readonly length: number;
  /** The first bad byte, its value and the expected one. */
  readonly fault: number;
  readonly value: number;
  readonly expected: number;
  /** The last bad byte (the kernel's end - 1: trailing good bytes are not counted). */
  readonly last: number;
}

/** A free pointer that does not point at an object of the slab ("Freepointer corrupt"); set to NULL. */
export interface FreePointerFinding {
  readonly kind: 'freepointer';
  readonly what: 'Freepointer corrupt';
  readonly object: number;
  readonly pointer: bigint;
}

export type DebugFinding = ByteFinding | FreePointerFinding;

export interface CheckResult {
  /** The kernel's return value (1 = clean). */
  readonly ok: boolean;
  /** In the order the kernel reports them. */
  readonly findings: readonly DebugFinding[];
  /** What SLUB's KUnit hook counts (slab_add_kunit_errors): a report and its FIX count one each. */
  readonly slabErrors: number;
}

export interface CheckOptions {
  /** The free-pointer check needs the engine; without it the check is skipped and fp prints as 0. */
  readonly freePointer?: FreePointerOps;
  /** Print the kernel's report; without it only findings are returned. */
  readonly report?: SlubReportContext;
}

interface CheckState {
  readonly mem: DebugMemory;
  readonly opts: CheckOptions;
  readonly findings: DebugFinding[];
  slabErrors: number;
}

/** memchr_inv(): the index of the first byte other than value, or -1. */
function memchrInv(bytes: Uint8Array, value: number): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== value) return i;
  return -1;
}

/** restore_bytes(): "FIX <cache>: Restoring <what> 0x<from>-0x<to-1>=0x<value>", then the memset. */
function restoreBytes(st: CheckState, what: string, value: number, from: number, to: number): void {
  const ctx = st.opts.report;
  st.slabErrors++;
  if (ctx) {
    const range = `0x${formatPointer(virtOf(ctx, from))}-0x${formatPointer(virtOf(ctx, to - 1))}`;
    slabFix(ctx, `Restoring ${what} ${range}=0x${value.toString(16)}`);
  }
  fill(st.mem, from, value, to - from);
}

/** check_bytes_and_report() of 6.12: reports and restores the bad stretch of [start, start + bytes). */
function checkBytesAndReport(st: CheckState, what: string, start: number, value: number, bytes: number): boolean {
  if (bytes <= 0) return true;
  // The common case, intact bytes, needs no copy when the memory can scan in place.
  if (st.mem.scan && st.mem.scan(start, bytes, value) < 0) return true;
  const data = st.mem.read(start, bytes);
  const i = memchrInv(data, value);
  if (i < 0) return true;
  let end = bytes;
  while (end > i && data[end - 1] === value) end--;
  const fault = start + i;
  st.findings.push({
    kind: 'bytes',
    what,
    start,
    length: bytes,
    fault,
    value: data[i]!,
    expected: value,
    last: start + end - 1,
  });
  st.slabErrors++;
  const ctx = st.opts.report;
  if (ctx) {
    slabBug(ctx, `${what} overwritten`);
    const range = `0x${formatPointer(virtOf(ctx, fault))}-0x${formatPointer(virtOf(ctx, start + end - 1))}`;
    ctx.printk(
      `${range} @offset=${fault - ctx.slabBase}. First byte 0x${data[i]!.toString(16)} instead of 0x${value.toString(16)}`,
    );
  }
  restoreBytes(st, what, value, fault, start + end);
  return false;
}

/** check_pad_bytes(): the padding after the metadata holds POISON_INUSE. */
function checkPadBytes(st: CheckState, layout: SlubDebugLayout, object: number): boolean {
  if (layout.sizeFromObject === layout.padStart) return true;
  const len = layout.sizeFromObject - layout.padStart;
  return checkBytesAndReport(st, 'Object padding', object + layout.padStart, POISON_INUSE, len);
}

/** check_object()'s red zone part (the "Alignment padding" without red zones). */
function checkRedZones(st: CheckState, layout: SlubDebugLayout, object: number, val: number): boolean {
  let ok = true;
  const endObject = object + layout.objectSize;
  if (layout.flags & SLAB_RED_ZONE) {
    if (!checkBytesAndReport(st, 'Left Redzone', object - layout.redLeftPad, val, layout.redLeftPad)) ok = false;
    if (!checkBytesAndReport(st, 'Right Redzone', endObject, val, layout.inuse - layout.objectSize)) ok = false;
    if (layout.origSizeOffset !== undefined && val === SLUB_RED_ACTIVE) {
      const orig = getOrigSize(st.mem, layout, object);
      if (layout.objectSize > orig) {
        if (!checkBytesAndReport(st, 'kmalloc Redzone', object + orig, val, layout.objectSize - orig)) ok = false;
      }
    }
  } else if (layout.flags & SLAB_POISON && layout.objectSize < layout.inuse) {
    const len = layout.inuse - layout.objectSize;
    if (!checkBytesAndReport(st, 'Alignment padding', endObject, POISON_INUSE, len)) ok = false;
  }
  return ok;
}

/** check_object()'s poison part: a free object's poison, then the padding. */
function checkPoison(st: CheckState, layout: SlubDebugLayout, object: number, val: number): boolean {
  if (!(layout.flags & SLAB_POISON)) return true;
  let ok = true;
  if (val !== SLUB_RED_ACTIVE && layout.objectPoison) {
    const kasanMetaSize = layout.kasanMetaInObject; // kasan_metadata_size(s, true)
    const size = layout.objectSize;
    if (kasanMetaSize < size - 1) {
      if (!checkBytesAndReport(st, 'Poison', object + kasanMetaSize, POISON_FREE, size - kasanMetaSize - 1)) ok = false;
    }
    if (kasanMetaSize < size && !checkBytesAndReport(st, 'End Poison', object + size - 1, POISON_END, 1)) ok = false;
  }
  if (!checkPadBytes(st, layout, object)) ok = false;
  return ok;
}

/** check_object()'s free-pointer part: not while in use when the pointer overlays the object. */
function checkFreePointer(st: CheckState, layout: SlubDebugLayout, object: number, val: number): boolean {
  const ops = st.opts.freePointer;
  if (!ops || (!freeptrOutsideObject(layout) && val === SLUB_RED_ACTIVE)) return true;
  const pointer = ops.get(object);
  if (pointer === 0n || ops.valid(pointer)) return true; // check_valid_pointer(): NULL is valid
  st.findings.push({ kind: 'freepointer', what: 'Freepointer corrupt', object, pointer });
  st.slabErrors++;
  if (st.opts.report) objectErr(st.opts.report, st.mem, layout, object, 'Freepointer corrupt', ops, ['check_object']);
  ops.setNull(object); // no choice but to zap it and lose the rest of the slab's free objects
  return false;
}

/**
 * check_object() of 6.12 on the object at `object` (after its left red zone), expected to be free
 * (SLUB_RED_INACTIVE) or in use (SLUB_RED_ACTIVE). Every check runs: the red zones (and the kmalloc red zone
 * past orig_size of an object in use), a free object's poison, the padding, the free pointer; each bad
 * stretch is reported and restored in that order, and the object's trailer is printed once at the end.
 */
export function checkObject(
  mem: DebugMemory,
  layout: SlubDebugLayout,
  object: number,
  val: number,
  opts: CheckOptions = {},
): CheckResult {
  const st: CheckState = { mem, opts, findings: [], slabErrors: 0 };
  let ok = checkRedZones(st, layout, object, val);
  if (!checkPoison(st, layout, object, val)) ok = false;
  if (!checkFreePointer(st, layout, object, val)) ok = false;
  if (!ok && opts.report) {
    printTrailer(opts.report, mem, layout, object, opts.freePointer, ['check_object']);
    addTaint(opts.report);
  }
  return { ok, findings: st.findings, slabErrors: st.slabErrors };
}

/**
 * slab_pad_check() of 6.12: the bytes after the last whole slot of a SLAB_POISON slab (slabBytes % size)
 * must hold POISON_INUSE; a bad stretch is reported with slab_err() and the whole remainder's dump, and
 * restored. (The kernel takes the remainder from the slab size, not from the object count.)
 */
export function slabPadCheck(
  mem: DebugMemory,
  layout: SlubDebugLayout,
  slabBase: number,
  slabBytes: number,
  report?: SlubReportContext,
): CheckResult {
  const st: CheckState = { mem, opts: report ? { report } : {}, findings: [], slabErrors: 0 };
  const remainder = slabBytes % layout.size;
  if (!(layout.flags & SLAB_POISON) || !remainder) return { ok: true, findings: [], slabErrors: 0 };
  const pad = slabBase + slabBytes - remainder;
  const data = mem.read(pad, remainder);
  const i = memchrInv(data, POISON_INUSE);
  if (i < 0) return { ok: true, findings: [], slabErrors: 0 };
  let end = remainder;
  while (end > i && data[end - 1] === POISON_INUSE) end--;
  const fault = pad + i;
  const last = pad + end - 1;
  st.findings.push({
    kind: 'bytes',
    what: 'slab padding',
    start: pad,
    length: remainder,
    fault,
    value: data[i]!,
    expected: POISON_INUSE,
    last,
  });
  st.slabErrors++;
  if (report) {
    const range = `0x${formatPointer(virtOf(report, fault))}-0x${formatPointer(virtOf(report, last))}`;
    slabErr(report, `Padding overwritten. ${range} @offset=${fault - slabBase}`, ['slab_pad_check']);
    printSection(report, mem, 'Padding ', pad, remainder);
  }
  restoreBytes(st, 'slab padding', POISON_INUSE, fault, last + 1);
  return { ok: false, findings: st.findings, slabErrors: st.slabErrors };
}
