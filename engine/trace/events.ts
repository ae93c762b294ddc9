/*
 * The event stream: every state change of the machine is one numbered, typed event.
 *
 * Events are stored in typed arrays, not one object each, in chunks of 65,536 events that are never copied,
 * so a run of millions of kmalloc/kfree calls records them at 28 bytes apiece and the cost of an event does
 * not depend on how many came before. `get(seq)` decodes one into a plain object for views, breakpoints and
 * the timeline. Sequence numbers start at 0 and never repeat.
 *
 * Fields: kind, cpu, line (the scenario line that caused it, 0 for boot; above bit 24 the index of its file
 * when the line is in an included file, which get() returns as `file`), cache (slab cache id or -1),
 * addr (physical address, or pfn for page events), size (bytes asked), extra (bytes given, or order).
 * A chunk keeps addr in a Float64Array and the rest as EVENT_WORDS 32-bit words per event in one Int32Array
 * (one array to write for the hot path, not six): kind (8 bits) and cpu (16 bits) share the first word, then
 * line, cache, size and extra. Each field keeps the width it always had: kind as a uint8, cpu as a uint16,
 * line, size and extra as uint32, cache as an int16 (stored values wrap as typed-array stores do).
 */

/** An event's line word: line + file * LINE_FILE_UNIT (lines up to 16M, files up to 255). */
export const LINE_FILE_UNIT = 1 << 24;

export enum EventKind {
  /** kmalloc() returned an object: cache, addr, size asked, bytes given (the cache's object size). */
  Kmalloc = 1,
  /** kfree() gave an object back: cache, addr, bytes of the object. */
  Kfree,
  /** kmalloc() failed: size asked. */
  KmallocFail,
  /** The buddy allocator handed out a block: addr = pfn, extra = order. */
  PageAlloc,
  /** A block went back to the buddy allocator: addr = pfn, extra = order. */
  PageFree,
  /**
   * SLUB allocated a new slab for a cache (allocate_slab): addr = pfn of the head page, size = SlabPath.NewSlab,
   * extra = order.
   */
  SlabNew,
  /**
   * SLUB gave an empty slab back to the page allocator (discard_slab): addr = pfn, size = the SlabPath that
   * did it, extra = order.
   */
  SlabDiscard,
  /**
   * alloc_pages() (or __get_free_pages) returned NULL: size = the GFP mask, extra = the order asked (also
   * above MAX_PAGE_ORDER). The warning text, unless __GFP_NOWARN, is in Machine.log.
   */
  PageAllocFail,
  /**
   * The OOM killer ran (out_of_memory): cache = the pid it killed (0: none could be, the kernel panicked),
   * size = the GFP mask, extra = the order; the report is in Machine.log.
   */
  Oom,
  /**
   * A user page fault (process.ts): cache = pid, addr = the pfn the handler mapped (0 when refused), size = the
   * x86 error code, extra = what happened: 0 demand-zero page, 1 zero page, 2 COW copy, 3 COW reuse,
   * 4 SIGSEGV, 5 out of memory (VM_FAULT_OOM), 6 SIGKILL (corrupted page table).
   */
  PageFault,
  /**
   * compact_zone() finished (compaction.ts, trace_mm_compaction_end): cache = zone index, addr = pages
   * migrated, size = pages scanned by both scanners, extra = the compact_result (COMPACT_RESULT_NAMES).
   */
  Compaction,
  /**
   * A slab changed lists (slub.ts SlabState: cpu slab, a CPU's partial list, the node partial list, full):
   * cache, addr = pfn of the head page, size = the SlabPath that moved it, extra = the new SlabState; cpu is
   * the CPU whose lists changed.
   */
  SlabMove,
  /**
   * SLUB debugging reported a bug (slub_checks.ts, a cache with slab_debug= flags): cache, addr = the
   * object's physical address (the slab padding's for a padding report), size = the SlubReport kind. The
   * report's text is in Machine.log.
   */
  SlubDebug,
  /**
   * KASAN reported a bug (kasan_checks.ts): addr = the physical address of the bad access or free (0 when it
   * has none, a vmalloc address), size = the KasanBug. The report's text is in Machine.log.
   */
  Kasan,
  /**
   * kmemleak reported a suspected leak (kmemleak_checks.ts): addr = the block's physical address (0 for a
   * vmalloc area), size = its size. The report's text is in Machine.log.
   */
  Kmemleak,
  /**
   * KFENCE reported a bug (kfence_checks.ts): addr = the physical address of the fault or free, size = the
   * KfenceBug. The report's text is in Machine.log.
   */
  Kfence,
  /**
   * A sleeping call in atomic context (context.ts): "BUG: sleeping function called from invalid context" or
   * "BUG: scheduling while atomic"; size = the MightSleepKind. The report's text is in Machine.log.
   */
  MightSleep,
}

export const EVENT_KIND_NAMES: Readonly<Record<EventKind, string>> = {
  [EventKind.Kmalloc]: 'kmalloc',
  [EventKind.Kfree]: 'kfree',
  [EventKind.KmallocFail]: 'kmalloc_fail',
  [EventKind.PageAlloc]: 'page_alloc',
  [EventKind.PageFree]: 'page_free',
  [EventKind.SlabNew]: 'slab_new',
  [EventKind.SlabDiscard]: 'slab_discard',
  [EventKind.PageAllocFail]: 'page_alloc_fail',
  [EventKind.Oom]: 'oom',
  [EventKind.PageFault]: 'page_fault',
  [EventKind.Compaction]: 'compaction',
  [EventKind.SlabMove]: 'slab_move',
  [EventKind.SlubDebug]: 'slub_debug',
  [EventKind.Kasan]: 'kasan',
  [EventKind.Kmemleak]: 'kmemleak',
  [EventKind.Kfence]: 'kfence',
  [EventKind.MightSleep]: 'might_sleep',
};

/** One decoded event. */
export interface KmemEvent {
  readonly seq: number;
  readonly kind: EventKind;
  readonly cpu: number;
  readonly line: number;
  /** The file of the line (Program.files; 0: the scenario's own). */
  readonly file: number;
  readonly cache: number;
  readonly addr: number;
  readonly size: number;
  readonly extra: number;
}

/** Events per chunk: the log grows by whole chunks and never copies what it holds. */
const CHUNK_SHIFT = 16;
const CHUNK_SIZE = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_SIZE - 1;

/** 32-bit words per event in Chunk.words: kind | cpu << 8, line, cache, size, extra. */
const EVENT_WORDS = 5;
const W_KIND_CPU = 0;
const W_LINE = 1;
const W_CACHE = 2;
const W_SIZE = 3;
const W_EXTRA = 4;

/** One chunk of events: the packed words and the addresses. */
class Chunk {
  readonly words = new Int32Array(CHUNK_SIZE * EVENT_WORDS);
  readonly addrs = new Float64Array(CHUNK_SIZE);
}

export class EventLog {
  private readonly chunks: Chunk[] = [];
  /** The last chunk's arrays, where push() writes (empty until the first event). */
  private words = new Int32Array(0);
  private addrs = new Float64Array(0);
  private count = 0;
  /** Bit (1 << kind) is set once an event of that kind was recorded: a cheap test for breakpoint checks. */
  kindMask = 0;

  get length(): number {
    return this.count;
  }

  push(kind: EventKind, cpu: number, line: number, cache: number, addr: number, size: number, extra: number): number {
    const seq = this.count;
    const i = seq & CHUNK_MASK;
    if (i === 0) this.addChunk(); // the first event, and every CHUNK_SIZE-th after it, starts a chunk
    const w = this.words;
    const j = i * EVENT_WORDS;
    w[j + W_KIND_CPU] = (kind & 0xff) | ((cpu & 0xffff) << 8);
    w[j + W_LINE] = line;
    w[j + W_CACHE] = cache;
    w[j + W_SIZE] = size;
    w[j + W_EXTRA] = extra;
    this.addrs[i] = addr;
    this.count = seq + 1;
    this.kindMask |= 1 << kind;
    return seq;
  }

  /**
   * A digest of every event (all fields, in order): FNV-1a over the packed words and the addresses, as 16 hex
   * digits. Two runs of the same scenario with the same seed have the same digest; any change in what the
   * allocators did changes it.
   */
  digest(): string {
    let h = 0xcbf29ce484222325n;
    const prime = 0x100000001b3n;
    const mask = (1n << 64n) - 1n;
    let lo = 0x811c9dc5; // a 32-bit FNV-1a alongside, mixed in at the end (cheap per word)
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      const n = Math.min(CHUNK_SIZE, this.count - c * CHUNK_SIZE);
      for (let i = 0; i < n * EVENT_WORDS; i++) lo = Math.imul(lo ^ chunk.words[i]!, 0x01000193) >>> 0;
      for (let i = 0; i < n; i++) {
        const a = chunk.addrs[i]!;
        lo = Math.imul(lo ^ (a % 0x100000000), 0x01000193) >>> 0;
        lo = Math.imul(lo ^ Math.floor(a / 0x100000000), 0x01000193) >>> 0;
      }
      h = ((h ^ BigInt(lo)) * prime) & mask;
    }
    h = ((h ^ BigInt(this.count)) * prime) & mask;
    return h.toString(16).padStart(16, '0');
  }

  private addChunk(): void {
    const c = new Chunk();
    this.chunks.push(c);
    this.words = c.words;
    this.addrs = c.addrs;
  }

  kindAt(seq: number): EventKind {
    return (this.chunks[seq >>> CHUNK_SHIFT]!.words[(seq & CHUNK_MASK) * EVENT_WORDS + W_KIND_CPU]! &
      0xff) as EventKind;
  }

  cacheAt(seq: number): number {
    return (this.chunks[seq >>> CHUNK_SHIFT]!.words[(seq & CHUNK_MASK) * EVENT_WORDS + W_CACHE]! << 16) >> 16;
  }

  get(seq: number): KmemEvent {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.count) {
      throw new RangeError(`event ${seq} is outside the log (0..${this.count - 1})`);
    }
    const c = this.chunks[seq >>> CHUNK_SHIFT]!;
    const i = seq & CHUNK_MASK;
    const w = c.words;
    const j = i * EVENT_WORDS;
    const kindCpu = w[j + W_KIND_CPU]!;
    return {
      seq,
      kind: (kindCpu & 0xff) as EventKind,
      cpu: (kindCpu >>> 8) & 0xffff,
      line: (w[j + W_LINE]! >>> 0) % LINE_FILE_UNIT,
      file: Math.floor((w[j + W_LINE]! >>> 0) / LINE_FILE_UNIT),
      cache: (w[j + W_CACHE]! << 16) >> 16,
      addr: c.addrs[i]!,
      size: w[j + W_SIZE]! >>> 0,
      extra: w[j + W_EXTRA]! >>> 0,
    };
  }

  /** Events from `start` (inclusive) to `end` (exclusive), decoded; for views of a window of the log. */
  slice(start: number, end = this.count): KmemEvent[] {
    const out: KmemEvent[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.count); i++) {
      out.push(this.get(i));
    }
    return out;
  }
}
