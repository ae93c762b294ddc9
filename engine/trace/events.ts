/*
 * The event stream: every state change of the machine is one numbered, typed event.
 *
 * Events are stored column-wise in growable typed arrays (struct of arrays), not one object each, so a
 * run of millions of kmalloc/kfree calls records them at a few bytes apiece. `get(seq)` decodes one into
 * a plain object for views, breakpoints and the timeline. Sequence numbers start at 0 and never repeat.
 *
 * Columns: kind, cpu, line (the scenario line that caused it, 0 for boot), cache (slab cache id or -1),
 * addr (physical address, or pfn for page events), size (bytes asked), extra (bytes given, or order).
 */

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
  /** SLUB allocated a new slab for a cache (allocate_slab): addr = pfn of the head page, extra = order. */
  SlabNew,
  /** SLUB gave an empty slab back to the page allocator (discard_slab): addr = pfn, extra = order. */
  SlabDiscard,
}

export const EVENT_KIND_NAMES: Readonly<Record<EventKind, string>> = {
  [EventKind.Kmalloc]: 'kmalloc',
  [EventKind.Kfree]: 'kfree',
  [EventKind.KmallocFail]: 'kmalloc_fail',
  [EventKind.PageAlloc]: 'page_alloc',
  [EventKind.PageFree]: 'page_free',
  [EventKind.SlabNew]: 'slab_new',
  [EventKind.SlabDiscard]: 'slab_discard',
};

/** One decoded event. */
export interface KmemEvent {
  readonly seq: number;
  readonly kind: EventKind;
  readonly cpu: number;
  readonly line: number;
  readonly cache: number;
  readonly addr: number;
  readonly size: number;
  readonly extra: number;
}

const INITIAL_CAPACITY = 1 << 12;

export class EventLog {
  private kinds = new Uint8Array(INITIAL_CAPACITY);
  private cpus = new Uint16Array(INITIAL_CAPACITY);
  private lines = new Uint32Array(INITIAL_CAPACITY);
  private caches = new Int16Array(INITIAL_CAPACITY);
  private addrs = new Float64Array(INITIAL_CAPACITY);
  private sizes = new Uint32Array(INITIAL_CAPACITY);
  private extras = new Uint32Array(INITIAL_CAPACITY);
  private count = 0;
  /** Bit (1 << kind) is set once an event of that kind was recorded: a cheap test for breakpoint checks. */
  kindMask = 0;

  get length(): number {
    return this.count;
  }

  push(kind: EventKind, cpu: number, line: number, cache: number, addr: number, size: number, extra: number): number {
    const seq = this.count;
    if (seq === this.kinds.length) {
      this.grow();
    }
    this.kinds[seq] = kind;
    this.cpus[seq] = cpu;
    this.lines[seq] = line;
    this.caches[seq] = cache;
    this.addrs[seq] = addr;
    this.sizes[seq] = size;
    this.extras[seq] = extra;
    this.count = seq + 1;
    this.kindMask |= 1 << kind;
    return seq;
  }

  kindAt(seq: number): EventKind {
    return this.kinds[seq] as EventKind;
  }

  get(seq: number): KmemEvent {
    if (seq < 0 || seq >= this.count) {
      throw new RangeError(`event ${seq} is outside the log (0..${this.count - 1})`);
    }
    return {
      seq,
      kind: this.kinds[seq] as EventKind,
      cpu: this.cpus[seq]!,
      line: this.lines[seq]!,
      cache: this.caches[seq]!,
      addr: this.addrs[seq]!,
      size: this.sizes[seq]!,
      extra: this.extras[seq]!,
    };
  }

  /** Events from `start` (inclusive) to the end, decoded; for views of a window of the log. */
  slice(start: number, end = this.count): KmemEvent[] {
    const out: KmemEvent[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.count); i++) {
      out.push(this.get(i));
    }
    return out;
  }

  private grow(): void {
    const n = this.kinds.length * 2;
    const grown = <T extends Uint8Array | Uint16Array | Uint32Array | Int16Array | Float64Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(n);
      b.set(a as never);
      return b;
    };
    this.kinds = grown(this.kinds, (k) => new Uint8Array(k));
    this.cpus = grown(this.cpus, (k) => new Uint16Array(k));
    this.lines = grown(this.lines, (k) => new Uint32Array(k));
    this.caches = grown(this.caches, (k) => new Int16Array(k));
    this.addrs = grown(this.addrs, (k) => new Float64Array(k));
    this.sizes = grown(this.sizes, (k) => new Uint32Array(k));
    this.extras = grown(this.extras, (k) => new Uint32Array(k));
  }
}
