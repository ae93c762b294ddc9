/*
 * Kmemleak (CONFIG_DEBUG_KMEMLEAK, Linux 6.12: mm/kmemleak.c, lib/crc32.c, lib/hexdump.c) as pure functions
 * over a list of tracked blocks and a memory reader.
 *
 * Kmemleak is a conservative tracing collector that reports instead of freeing. Every tracked block (a
 * struct kmemleak_object: pointer, size, min_count, count, checksum, flags) is coloured by two integers:
 *   - white: count < min_count, an orphan so far (only white objects are ever reported);
 *   - gray: min_count != -1 and count >= min_count, referenced enough (min_count 0, kmemleak_not_leak(), is
 *     gray from the start: never reported, but scanned);
 *   - black: min_count == -1 (kmemleak_ignore()): neither reported nor scanned.
 * kmemleak_scan() resets every count to 0, queues the gray objects, scans the roots (per-cpu areas, struct
 * pages, task stacks; .data and .bss are min_count-0 objects) word by word, then drains the gray list: each
 * queued object's memory is scanned (unless OBJECT_NO_SCAN) and every white object that reaches min_count is
 * appended. Invariants:
 *   - scan_block() reads the aligned words from PTR_ALIGN(start, 8) while ptr + 8 <= end (a word straddling
 *     the end is not read), in MAX_SCAN_SIZE chunks of an object (scan_object()) or root (scan_large_block());
 *   - a word counts when lookup_object(word, 1) finds the object containing it: pointer <= word <
 *     pointer + size; a word equal to pointer + size is not a reference (a zero-size object is never found);
 *     a word inside the object being scanned is ignored (self reference);
 *   - update_refs() only counts references to white objects; a reference to an already gray object with an
 *     excess_ref passes to the object starting exactly at excess_ref (lookup_object(excess_ref, 0)), unless
 *     that is the object being scanned (kmemleak_vmalloc(): the vm_struct forwards to the area, min_count 2);
 *   - an object enters the gray list at most once per scan (only white objects turn gray), so each block is
 *     scanned at most once, plus one read for the checksum of a white object;
 *   - after the first drain every white object whose crc32 changed since the previous scan (object->checksum,
 *     0 at creation) is painted gray for this scan only and scanned too: a leak whose contents are not all
 *     zero is therefore reported by the second scan after it became unreachable, not the first;
 *   - a white object is reported (OBJECT_REPORTED) once it is old enough: jiffies + jiffies_min_age <=
 *     jiffies_last_scan, jiffies_min_age = msecs_to_jiffies(5000). OBJECT_REPORTED is never cleared: a later
 *     scan does not count it among the "new suspected memory leaks", but /sys/kernel/debug/kmemleak lists every
 *     object that is reported and still unreferenced after the last scan.
 * The final colours do not depend on the order objects are scanned in (a reference is counted or forwarded
 * whatever the order); the kernel's order (object_list order, roots, then the gray list FIFO) is kept anyway.
 *
 * The model: the caller lists the allocated objects in object_list order (allocation order) and carries
 * checksum and reported from one scan's result to the next (withScanState()); freed objects are simply left
 * out (delete_object() unlinks them). Roots are address ranges plus bare pointer values (registers, the
 * scenario's live variables), each treated as one word found in a root. Memory is read through a block
 * reader returning little-endian bytes, one call per block of at most MAX_SCAN_SIZE bytes; an unreadable block
 * contributes no words (and an unreadable object keeps its checksum). Lookups use the objects sorted once by
 * address, split in 32-bit halves, so the scan loop does no BigInt arithmetic. Overlapping objects are refused
 * as create_object() refuses them ("Cannot insert ... (overlaps existing)", which disables kmemleak).
 * Not modelled: scan areas (kmemleak_scan_area()), OBJECT_PHYS/percpu trees, tag-based KASAN pointer tags,
 * min_addr/max_addr (a pure speed-up), scan_should_stop(), the early-boot memory pool.
 *
 * The checksum is crc32(0, object, size): lib/crc32.c's crc32_le, reflected polynomial 0xEDB88320, seed 0 and
 * no final inversion (unlike zlib), so an all-zero object has crc 0 ("backtrace (crc 0):") and "123456789"
 * gives 0x2dfd2d88 (zlib's 0xcbf43926 is ~crc32_le(~0, ...)).
 *
 * Report format (print_unreferenced(), hex_dump_object()): "unreferenced object 0x%08lx (size %zu):",
 * "  comm \"%s\", pid %d, jiffies %lu", "  hex dump (first %zu bytes):" and at most HEX_MAX_LINES rows of
 * HEX_ROW_SIZE bytes from hex_dump_to_buffer(rowsize 16, groupsize 1, ascii) prefixed "    ",
 * "  backtrace (crc %x):" and the stack depot entries. The seq file (/sys/kernel/debug/kmemleak) prints the
 * lines as they are; the dmesg form (kmemleak.verbose=1) goes through pr_warn()/print_hex_dump() with pr_fmt
 * "kmemleak: ". After a scan with new leaks pr_info() prints
 * "kmemleak: %d new suspected memory leaks (see /sys/kernel/debug/kmemleak)".
 *
 * Version notes: v6.12 to v6.12.8 print each stack entry as "    [<%pK>] %pS"; commit cddc76b16516 ("mm/kmemleak:
 * fix sleeping function called from invalid context at print message", 6.13-rc, backported to 6.12.9) prints
 * "    %pS" alone. formatUnreferenced() prints the 6.12.9+ form, and the older one when the caller supplies the
 * raw addresses (traceAddresses). The comm line's "(age %d.%03ds)" went, and "backtrace:" became "backtrace (crc
 * %x):", with Jim Cromie's 2023 patches (well before 6.12); the "(percpu)"/"(phys)" tag that later kernels put
 * after "unreferenced object" is never printed for ordinary objects.
 */

/* ------------------------------------------------------------------------------------------------------ */
/* Constants                                                                                              */
/* ------------------------------------------------------------------------------------------------------ */

/** Minimum object age for reporting, in milliseconds. */
export const MSECS_MIN_AGE = 5000;
/** Delay before the first automatic scan, in seconds. */
export const SECS_FIRST_SCAN = 60;
/** Delay between automatic scans, in seconds. */
export const SECS_SCAN_WAIT = 600;
/** Maximum size of a block scanned at once. */
export const MAX_SCAN_SIZE = 4096;
/** sizeof(void *) on 64-bit. */
export const BYTES_PER_POINTER = 8;
/** min_count of kmemleak_not_leak() / create_object(..., KMEMLEAK_GREY): never reported, scanned. */
export const KMEMLEAK_GREY = 0;
/** min_count of kmemleak_ignore(): never reported, never scanned. */
export const KMEMLEAK_BLACK = -1;
/** Bytes per hex dump row. */
export const HEX_ROW_SIZE = 16;
/** Bytes per hex dump group. */
export const HEX_GROUP_SIZE = 1;
/** Maximum hex dump rows. */
export const HEX_MAX_LINES = 2;
/** The hex dump rows' prefix. */
export const HEX_PREFIX = '    ';
/** pr_fmt(): KBUILD_MODNAME ": ". */
export const KMEMLEAK_PR_PREFIX = 'kmemleak: ';

/** msecs_to_jiffies() for a CONFIG_HZ (rounds up). */
export function msecsToJiffies(msecs: number, hz = 1000): number {
  return Math.ceil((msecs * hz) / 1000);
}

/** jiffies_min_age = msecs_to_jiffies(MSECS_MIN_AGE): 5000 at HZ=1000 (x86_64 defconfig). */
export function jiffiesMinAge(hz = 1000): number {
  return msecsToJiffies(MSECS_MIN_AGE, hz);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Types                                                                                                  */
/* ------------------------------------------------------------------------------------------------------ */

/** A tracked memory block (struct kmemleak_object), as the caller describes it. */
export interface KmemleakObject {
  /** object->pointer: the block's kernel virtual address. */
  readonly pointer: bigint;
  /** object->size in bytes. */
  readonly size: number;
  /** 1 for ordinary blocks, 2 for vmalloc areas, 0 = KMEMLEAK_GREY (not a leak), -1 = KMEMLEAK_BLACK (ignored). */
  readonly minCount: number;
  /** The allocating task's comm ("hardirq"/"softirq" with pid 0 in interrupt context). */
  readonly comm: string;
  readonly pid: number;
  /** Allocation time in jiffies. */
  readonly jiffies: number;
  /** The backtrace, symbolised (%pS: "kmalloc_trace+0x29d/0x340"), without indentation. */
  readonly trace: readonly string[];
  /** The raw return addresses of trace, for the 6.12.0-6.12.8 "[<%pK>] %pS" lines. */
  readonly traceAddresses?: readonly bigint[];
  /** object->excess_ref: where references beyond min_count are forwarded (0n or absent: none). */
  readonly excessRef?: bigint;
  /** OBJECT_NO_SCAN (kmemleak_no_scan()): coloured as usual but its memory is never scanned. */
  readonly noScan?: boolean;
  /** object->checksum left by the previous scan; 0 for a new object. */
  readonly checksum?: number;
  /** OBJECT_REPORTED: already counted as a new leak by an earlier scan. */
  readonly reported?: boolean;
}

/** A root range scanned with scan_block(start, start + size, NULL): a task stack, a per-cpu area, a section. */
export interface KmemleakRoot {
  readonly start: bigint;
  readonly size: number;
}

/** The memory the scan reads. */
export interface KmemleakMemory {
  /** len bytes at addr (little-endian words), or undefined when any of them cannot be read. */
  readBytes(addr: bigint, len: number): Uint8Array | undefined;
}

export interface KmemleakScanOptions {
  /** jiffies_last_scan: the jiffies when the scan starts. */
  readonly now: number;
  /** jiffies_min_age; defaults to jiffiesMinAge() (HZ=1000). */
  readonly minAge?: number;
  /** Bare pointer values found in roots (registers, live variables), each scanned as one root word. */
  readonly pointers?: readonly bigint[];
}

export type KmemleakColor = 'white' | 'gray' | 'black';

/** The outcome of kmemleakScan(); arrays are indexed like the objects passed in. */
export interface KmemleakScanResult {
  /** object->count after the scan (a checksum-modified object holds min_count). */
  readonly count: Int32Array;
  readonly colors: readonly KmemleakColor[];
  /** object->checksum after the scan (updated for the objects that were white after the first drain). */
  readonly checksum: Uint32Array;
  /** OBJECT_REPORTED after the scan. */
  readonly reported: readonly boolean[];
  /** The objects this scan reported for the first time (new_leaks), in object order. */
  readonly newLeaks: readonly number[];
  /** What /sys/kernel/debug/kmemleak lists now: reported and unreferenced_object(), in object order. */
  readonly unreferenced: readonly number[];
  /** The pr_info() line printed when newLeaks is not empty. */
  readonly summary: string | undefined;
  /** Words read by scan_block(), roots and pointers included. */
  readonly wordsScanned: number;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Colours                                                                                                */
/* ------------------------------------------------------------------------------------------------------ */

/** color_white(): count != -1 && count < min_count. */
export function colorWhite(count: number, minCount: number): boolean {
  return count !== KMEMLEAK_BLACK && count < minCount;
}

/** color_gray(): min_count != -1 && count >= min_count. */
export function colorGray(count: number, minCount: number): boolean {
  return minCount !== KMEMLEAK_BLACK && count >= minCount;
}

/** The colour of a (count, min_count) pair; anything neither white nor gray is black. */
export function kmemleakColor(count: number, minCount: number): KmemleakColor {
  if (colorWhite(count, minCount)) return 'white';
  return colorGray(count, minCount) ? 'gray' : 'black';
}

/* ------------------------------------------------------------------------------------------------------ */
/* Object lookup                                                                                          */
/* ------------------------------------------------------------------------------------------------------ */

const MASK64 = (1n << 64n) - 1n;
const MASK32 = 0xffffffffn;

/** %08lx of an unsigned long. */
function hex08(v: bigint): string {
  return (v & MASK64).toString(16).padStart(8, '0');
}

/**
 * The object search tree (object_tree_root) as arrays sorted by address once: lookup_object() is a binary
 * search. Zero-size objects are left out (the kernel never finds them either).
 */
export class KmemleakIndex {
  /** Sorted position -> caller index. */
  private readonly order: Int32Array;
  private readonly startHi: Uint32Array;
  private readonly startLo: Uint32Array;
  /** The last byte (pointer + size - 1), so that an object ending at 2^64 fits. */
  private readonly lastHi: Uint32Array;
  private readonly lastLo: Uint32Array;
  private readonly pointers: readonly bigint[];

  /** Throws a RangeError when two objects overlap, as __link_object() refuses to insert one. */
  constructor(objects: readonly Pick<KmemleakObject, 'pointer' | 'size'>[]) {
    const idx: number[] = [];
    const hi = new Uint32Array(objects.length);
    const lo = new Uint32Array(objects.length);
    this.pointers = objects.map((o) => o.pointer & MASK64);
    for (let i = 0; i < objects.length; i++) {
      const o = objects[i];
      if (!Number.isSafeInteger(o.size) || o.size < 0) throw new RangeError(`kmemleak: bad size ${o.size}`);
      const p = this.pointers[i];
      if (p + BigInt(o.size) > MASK64 + 1n) throw new RangeError(`kmemleak: object 0x${hex08(p)} wraps around`);
      hi[i] = Number(p >> 32n);
      lo[i] = Number(p & MASK32);
      if (o.size > 0) idx.push(i);
    }
    idx.sort((a, b) => hi[a] - hi[b] || lo[a] - lo[b]);
    const n = idx.length;
    this.order = Int32Array.from(idx);
    this.startHi = new Uint32Array(n);
    this.startLo = new Uint32Array(n);
    this.lastHi = new Uint32Array(n);
    this.lastLo = new Uint32Array(n);
    let prevLast = -1n;
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      const p = this.pointers[i];
      const last = p + BigInt(objects[i].size) - 1n;
      if (p <= prevLast) {
        throw new RangeError(`kmemleak: Cannot insert 0x${hex08(p)} into the object search tree (overlaps existing)`);
      }
      prevLast = last;
      this.startHi[k] = hi[i];
      this.startLo[k] = lo[i];
      this.lastHi[k] = Number(last >> 32n);
      this.lastLo[k] = Number(last & MASK32);
    }
  }

  /** Objects that can be found (size > 0). */
  get length(): number {
    return this.order.length;
  }

  /**
   * The caller index of the object containing the word (hi:lo), or -1: lookup_object(ptr, 1). Every
   * comparison is on 32-bit halves so the scan loop never allocates.
   */
  lookupWord(hi: number, lo: number): number {
    const n = this.order.length;
    if (n === 0) return -1;
    const sh = this.startHi;
    const sl = this.startLo;
    // Below the first object or above the last one (min_addr/max_addr's quick rejection).
    if (hi < sh[0] || (hi === sh[0] && lo < sl[0])) return -1;
    const lh = this.lastHi[n - 1];
    if (hi > lh || (hi === lh && lo > this.lastLo[n - 1])) return -1;
    // The last object starting at or below the word.
    let a = 0;
    let b = n - 1;
    while (a < b) {
      const m = (a + b + 1) >>> 1;
      if (sh[m] < hi || (sh[m] === hi && sl[m] <= lo)) a = m;
      else b = m - 1;
    }
    const eh = this.lastHi[a];
    if (hi < eh || (hi === eh && lo <= this.lastLo[a])) return this.order[a];
    return -1;
  }

  /** lookup_object(ptr, alias): alias false only finds an object starting exactly at ptr. */
  lookup(ptr: bigint, alias = true): number {
    const p = ptr & MASK64;
    const i = this.lookupWord(Number(p >> 32n), Number(p & MASK32));
    if (i < 0 || alias) return i;
    return this.pointers[i] === p ? i : -1;
  }
}

/* ------------------------------------------------------------------------------------------------------ */
/* crc32                                                                                                  */
/* ------------------------------------------------------------------------------------------------------ */

const CRC32_POLY_LE = 0xedb88320;
const CRC32_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? CRC32_POLY_LE ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** lib/crc32.c crc32_le(seed, p, len): reflected 0xEDB88320, no pre- or post-inversion (crc32() is this). */
export function crc32Le(seed: number, bytes: Uint8Array): number {
  let c = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC32_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

/** update_checksum()'s value: crc32(0, object, size). */
export function kmemleakChecksum(bytes: Uint8Array): number {
  return crc32Le(0, bytes);
}

/* ------------------------------------------------------------------------------------------------------ */
/* The scan                                                                                               */
/* ------------------------------------------------------------------------------------------------------ */

/**
 * kmemleak_scan(): colours every object from the roots, repaints the white objects whose checksum changed,
 * and reports the white ones old enough that were not reported before. Pure: the objects are not modified;
 * carry the result to the next scan with withScanState().
 */
export function kmemleakScan(
  objects: readonly KmemleakObject[],
  roots: readonly KmemleakRoot[],
  memory: KmemleakMemory,
  options: KmemleakScanOptions,
): KmemleakScanResult {
  const n = objects.length;
  const index = new KmemleakIndex(objects);
  const minAge = options.minAge ?? jiffiesMinAge();
  const now = options.now;

  const count = new Int32Array(n);
  const minCount = new Int32Array(n);
  const excessTarget = new Int32Array(n).fill(-1);
  const checksum = new Uint32Array(n);
  const reported: boolean[] = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    const o = objects[i];
    minCount[i] = o.minCount;
    checksum[i] = (o.checksum ?? 0) >>> 0;
    reported[i] = o.reported === true;
    if (o.excessRef !== undefined && (o.excessRef & MASK64) !== 0n) excessTarget[i] = index.lookup(o.excessRef, false);
  }

  // The gray list: every object is queued at most once per drain.
  const gray = new Int32Array(n);
  let head = 0;
  let tail = 0;
  let words = 0;

  const isWhite = (i: number): boolean => count[i] !== KMEMLEAK_BLACK && count[i] < minCount[i];
  const isGray = (i: number): boolean => minCount[i] !== KMEMLEAK_BLACK && count[i] >= minCount[i];

  /* update_refs(): count a reference to a white object; queue it when it turns gray. */
  const updateRefs = (i: number): void => {
    if (!isWhite(i)) return;
    count[i]++;
    if (isGray(i)) gray[tail++] = i;
  };

  /* scan_block()'s loop body: lookup_object(pointer, 1), self references ignored, surplus to excess_ref. */
  const pointerUpdateRefs = (scanned: number, hi: number, lo: number): void => {
    const i = index.lookupWord(hi, lo);
    if (i < 0 || i === scanned) return;
    if (isGray(i)) {
      const x = excessTarget[i];
      if (x >= 0 && x !== scanned) updateRefs(x);
    } else {
      updateRefs(i);
    }
  };

  /* scan_block(start, end, scanned): the aligned words with ptr + 8 <= end. */
  const scanBlock = (start: bigint, end: bigint, scanned: number): void => {
    const first = (start + 7n) & ~7n;
    if (first + 8n > end) return;
    const len = Number((end - first) >> 3n) * BYTES_PER_POINTER;
    const bytes = memory.readBytes(first & MASK64, len);
    if (!bytes || bytes.length < len) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, len);
    for (let off = 0; off < len; off += 8) {
      pointerUpdateRefs(scanned, view.getUint32(off + 4, true), view.getUint32(off, true));
    }
    words += len / BYTES_PER_POINTER;
  };

  /* scan_object() / scan_large_block(): MAX_SCAN_SIZE chunks from start. */
  const scanRange = (start: bigint, size: number, scanned: number): void => {
    if (size <= MAX_SCAN_SIZE) {
      scanBlock(start, start + BigInt(size), scanned);
      return;
    }
    const chunk = BigInt(MAX_SCAN_SIZE);
    const end = start + BigInt(size);
    while (start < end) {
      const next = start + chunk < end ? start + chunk : end;
      scanBlock(start, next, scanned);
      start = next;
    }
  };

  /* scan_gray_list(): objects queued while draining are scanned too. */
  const scanGrayList = (): void => {
    while (head < tail) {
      const i = gray[head++];
      const o = objects[i];
      if (!o.noScan) scanRange(o.pointer & MASK64, o.size, i);
    }
    head = 0;
    tail = 0;
  };

  // Prepare: whiten everything, queue what is gray with count 0 (min_count 0).
  for (let i = 0; i < n; i++) {
    count[i] = 0;
    if (isGray(i)) gray[tail++] = i;
  }
  // Roots, then the objects they reach.
  for (const r of roots) scanRange(r.start & MASK64, r.size, -1);
  for (const p of options.pointers ?? []) {
    const v = p & MASK64;
    pointerUpdateRefs(-1, Number(v >> 32n), Number(v & MASK32));
    words++;
  }
  scanGrayList();

  // White objects modified since the previous scan are gray until the next one; scan what they reach.
  for (let i = 0; i < n; i++) {
    if (!isWhite(i)) continue;
    const o = objects[i];
    const bytes = o.size > 0 ? memory.readBytes(o.pointer & MASK64, o.size) : new Uint8Array(0);
    if (!bytes || bytes.length < o.size) continue;
    const crc = kmemleakChecksum(bytes.subarray(0, o.size));
    const changed = crc !== checksum[i];
    checksum[i] = crc;
    if (changed) {
      count[i] = minCount[i];
      gray[tail++] = i;
    }
  }
  scanGrayList();

  // Reporting.
  const newLeaks: number[] = [];
  const unreferenced: number[] = [];
  const colors: KmemleakColor[] = new Array<KmemleakColor>(n);
  for (let i = 0; i < n; i++) {
    colors[i] = kmemleakColor(count[i], minCount[i]);
    if (colors[i] !== 'white' || objects[i].jiffies + minAge > now) continue;
    if (!reported[i]) {
      reported[i] = true;
      newLeaks.push(i);
    }
    unreferenced.push(i);
  }

  return {
    count,
    colors,
    checksum,
    reported,
    newLeaks,
    unreferenced,
    summary: formatScanSummary(newLeaks.length),
    wordsScanned: words,
  };
}

/** The objects with the checksum and OBJECT_REPORTED a scan left, ready for the next scan. */
export function withScanState(objects: readonly KmemleakObject[], result: KmemleakScanResult): KmemleakObject[] {
  return objects.map((o, i) => ({ ...o, checksum: result.checksum[i], reported: result.reported[i] }));
}

/* ------------------------------------------------------------------------------------------------------ */
/* Reports                                                                                                */
/* ------------------------------------------------------------------------------------------------------ */

/** hex_dump_to_buffer(buf, len <= 16, rowsize 16, groupsize 1, ascii true): hex bytes, column 49, text. */
export function kmemleakHexDumpLine(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  // ascii_column = rowsize * 2 + rowsize / groupsize + 1; isascii(c) && isprint(c) else '.'.
  const ascii = Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return hex.padEnd(HEX_ROW_SIZE * 2 + HEX_ROW_SIZE / HEX_GROUP_SIZE + 1, ' ') + ascii;
}

/** hex_dump_object(): the header and up to HEX_MAX_LINES rows of the object's first bytes. */
export function formatHexDump(size: number, bytes: Uint8Array): string[] {
  const len = Math.min(size, HEX_MAX_LINES * HEX_ROW_SIZE);
  const shown = bytes.subarray(0, len);
  const lines = [`  hex dump (first ${len} bytes):`];
  for (let i = 0; i < shown.length; i += HEX_ROW_SIZE) {
    lines.push(HEX_PREFIX + kmemleakHexDumpLine(shown.subarray(i, i + HEX_ROW_SIZE)));
  }
  return lines;
}

export interface FormatUnreferencedOptions {
  /** The kernel log form (kmemleak.verbose=1 during a scan): every line prefixed "kmemleak: ". */
  readonly dmesg?: boolean;
}

/**
 * print_unreferenced(): the lines /sys/kernel/debug/kmemleak shows for a leaked object. bytes are the
 * object's first bytes (at least min(size, 32) of them for a full dump), checksum its object->checksum.
 */
export function formatUnreferenced(
  object: KmemleakObject,
  bytes: Uint8Array,
  checksum: number,
  options: FormatUnreferencedOptions = {},
): string[] {
  const lines = [
    `unreferenced object 0x${hex08(object.pointer)} (size ${object.size}):`,
    `  comm "${object.comm}", pid ${object.pid}, jiffies ${object.jiffies}`,
    ...formatHexDump(object.size, bytes),
    `  backtrace (crc ${(checksum >>> 0).toString(16)}):`,
  ];
  const addrs = object.traceAddresses;
  object.trace.forEach((entry, i) => {
    const addr = addrs?.[i];
    lines.push(
      addr === undefined ? `    ${entry}` : `    [<${(addr & MASK64).toString(16).padStart(16, '0')}>] ${entry}`,
    );
  });
  return options.dmesg ? lines.map((l) => KMEMLEAK_PR_PREFIX + l) : lines;
}

/** The pr_info() at the end of kmemleak_scan(), printed only when new leaks were found. */
export function formatScanSummary(newLeaks: number): string | undefined {
  if (newLeaks <= 0) return undefined;
  return `${KMEMLEAK_PR_PREFIX}${newLeaks} new suspected memory leaks (see /sys/kernel/debug/kmemleak)`;
}

/**
 * Reading /sys/kernel/debug/kmemleak after a scan: kmemleak_seq_show() of every object that is reported and
 * still unreferenced, with its current first bytes and the checksum of the last scan.
 */
export function formatKmemleakFile(
  objects: readonly KmemleakObject[],
  result: KmemleakScanResult,
  memory: KmemleakMemory,
): string[] {
  const lines: string[] = [];
  for (const i of result.unreferenced) {
    const o = objects[i];
    const len = Math.min(o.size, HEX_MAX_LINES * HEX_ROW_SIZE);
    const bytes = (len > 0 ? memory.readBytes(o.pointer & MASK64, len) : undefined) ?? new Uint8Array(0);
    lines.push(...formatUnreferenced(o, bytes, result.checksum[i]));
  }
  return lines;
}
