/*
 * The free-list allocator of OSTEP's free-space chapter, as its homework simulator malloc.py models it
 * (github.com/remzi-arpacidusseau/ostep-homework, vm-freespace/malloc.py), and a formatter that prints what
 * malloc.py prints for the same options, so a student can check an answer in the debugger.
 *
 * The heap is `size` bytes at `base`. The free list is an ordered list of (addr, size) chunks, first one chunk
 * of the whole heap. malloc(n) (class malloc, method malloc):
 *   1. rounds n up to a multiple of `align` (-a; -1 means none), then adds `headerSize` (-H);
 *   2. walks the whole list counting the elements it looks at ("searched N elements"), keeping the chunk
 *      the policy prefers: BEST the smallest that fits (first of equals), WORST the largest (first of equals),
 *      FIRST the first that fits, and stops there;
 *   3. takes the chunk's start: a larger chunk shrinks in place (its entry becomes (addr + n, size - n)), an
 *      exact fit leaves the list. It returns the chunk's address (the header's) and the count, or -1.
 * free(addr) (method free) knows the size from its map; the chunk goes back by the list order (-l):
 * INSERT-FRONT, INSERT-BACK, or appended and the list stably re-sorted: ADDRSORT by address, SIZESORT+ by size
 * rising, SIZESORT- by size falling. With coalescing (-C) one pass then merges each element into the one
 * before it in the list when they touch in memory (adjacent in memory AND in the list: under ADDRSORT that is
 * all neighbours, under other orders only some). free returns 0, or -1 for an address it did not hand out.
 *
 * NEXT (next fit) is an extension: malloc.py has no such policy. It is the classic roving pointer (Knuth,
 * TAOCP 2.5): the search starts at the chunk where the last one ended, wraps around once, and takes the first
 * chunk that fits; the rover then stays on the remainder. Its count is the elements looked at, as for FIRST.
 *
 * Steps (stats): malloc's steps are malloc.py's count. free's steps are the list elements a linear insertion
 * would compare to place the chunk (1 for INSERT-FRONT and INSERT-BACK, up to the list length for the sorted
 * orders), plus the elements of the coalescing pass when -C is on. Neither is bounded: both grow with the list.
 *
 * Printing (runMallocPy): malloc.py's Python 3 output, character for character, including its quirks: the
 * random mode prints ptr + headerSize (the payload; -1 + headerSize for a failure), the -A mode prints ptr (the
 * header's address); "Free(ptr[i])" and "returned rc" are separate lines; free-list entries are printed with
 * no space between them; the -A mode skips "-i" when i >= the number of successful allocations ("Invalid Free:
 * Skipping") and frees the same pointer again on a repeated "-i" (returned -1). The random mode uses Python's
 * own generator (PyRandom: MT19937 seeded by init_by_array as CPython's random.seed(int) does, random() from
 * two draws), so `-s 0 -n 10` gives the same operations as malloc.py.
 *
 * Where this differs from malloc.py: where it would stop with a Python exception (an AssertionError for a
 * zero-size chunk placed where another zero-size allocation already is, a KeyError for "-i" of an allocation
 * that failed, an abort() on a malformed -A item), malloc() returns KM6103 and runMallocPy stops with the
 * exception's name in `error`. Heap.malloc/free (the debugger's interface) take and return payload addresses
 * (chunk + headerSize); pyMalloc/pyFree are malloc.py's own methods on chunk addresses.
 */

import { emptyOpStats, fragmentation } from './region';
import type { Heap, HeapBlockView, HeapError, HeapFreeResult, HeapOpStats, HeapResult, HeapStats } from './region';

export type FitPolicy = 'BEST' | 'WORST' | 'FIRST' | 'NEXT';
export type ListOrder = 'ADDRSORT' | 'SIZESORT+' | 'SIZESORT-' | 'INSERT-FRONT' | 'INSERT-BACK';
export const FIT_POLICIES: readonly FitPolicy[] = ['BEST', 'WORST', 'FIRST', 'NEXT'];
export const LIST_ORDERS: readonly ListOrder[] = ['ADDRSORT', 'SIZESORT+', 'SIZESORT-', 'INSERT-FRONT', 'INSERT-BACK'];

/** Stable error codes. */
export const FREELIST_ERR = {
  notAllocated: 'KM6101',
  badOptions: 'KM6102',
  assertion: 'KM6103',
  noMemory: 'KM6104',
} as const;

/** malloc.py's heap options, with its defaults. */
export interface FreeListOptions {
  /** -S: bytes in the heap (100). */
  size?: number;
  /** -b: address of its first byte (1000). */
  base?: number;
  /** -H: header bytes per allocation (0). */
  headerSize?: number;
  /** -a: round requests up to a multiple of this; -1 for no alignment (-1). */
  align?: number;
  /** -p (BEST). */
  policy?: FitPolicy;
  /** -l (ADDRSORT). */
  order?: ListOrder;
  /** -C (false). */
  coalesce?: boolean;
}

/** One free-list element: a chunk of free memory. */
export interface FreeChunk {
  readonly addr: number;
  readonly size: number;
}

export class FreeListHeap implements Heap {
  readonly kind = 'freelist' as const;
  readonly size: number;
  readonly base: number;
  readonly headerSize: number;
  readonly align: number;
  readonly policy: FitPolicy;
  readonly order: ListOrder;
  readonly coalesce: boolean;
  /** The free list, in list order (malloc.py self.freelist). */
  private freelist: FreeChunk[];
  /** Chunk address -> chunk size and the size asked for (malloc.py self.sizemap, plus the request). */
  private readonly sizemap = new Map<number, { size: number; requested: number }>();
  /** NEXT: the address the next search starts from. */
  private rover: number;
  private lastSteps = 0;
  private worstSteps = 0;
  private readonly ops: Record<'malloc' | 'free', HeapOpStats> = { malloc: emptyOpStats(), free: emptyOpStats() };

  private constructor(o: Required<FreeListOptions>) {
    this.size = o.size;
    this.base = o.base;
    this.headerSize = o.headerSize;
    this.align = o.align;
    this.policy = o.policy;
    this.order = o.order;
    this.coalesce = o.coalesce;
    this.freelist = [{ addr: o.base, size: o.size }];
    this.rover = o.base;
  }

  /** malloc.__init__, with its assertions as errors. */
  static create(options: FreeListOptions = {}): FreeListHeap | HeapError {
    const o: Required<FreeListOptions> = {
      size: options.size ?? 100,
      base: options.base ?? 1000,
      headerSize: options.headerSize ?? 0,
      align: options.align ?? -1,
      policy: options.policy ?? 'BEST',
      order: options.order ?? 'ADDRSORT',
      coalesce: options.coalesce ?? false,
    };
    const bad = (message: string): HeapError => ({ code: FREELIST_ERR.badOptions, message });
    if (!FIT_POLICIES.includes(o.policy)) return bad(`policy must be one of ${FIT_POLICIES.join(', ')}`);
    if (!LIST_ORDERS.includes(o.order)) return bad(`list order must be one of ${LIST_ORDERS.join(', ')}`);
    if (!(o.align === -1 || (Number.isInteger(o.align) && o.align > 0))) return bad('alignment must be -1 or positive');
    for (const [k, v] of [
      ['size', o.size],
      ['base', o.base],
      ['header size', o.headerSize],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 0) return bad(`${k} must be a whole number >= 0, not ${v}`);
    }
    return new FreeListHeap(o);
  }

  /** The free list in list order. */
  freeList(): readonly FreeChunk[] {
    return this.freelist;
  }

  /** malloc.py malloc(size): (chunk address or -1, elements searched). */
  pyMalloc(size: number): { ptr: number; count: number; error?: HeapError } {
    const requested = size;
    if (this.align !== -1) {
      const left = size % this.align;
      size += left !== 0 ? this.align - left : 0;
    }
    size += this.headerSize;

    let bestIdx = -1;
    let bestSize = this.policy === 'BEST' ? this.size + 1 : -1;
    let bestAddr = -1;
    let count = 0;
    const n = this.freelist.length;
    if (this.policy === 'NEXT') {
      const start = this.roverIndex();
      for (let k = 0; k < n; k++) {
        const i = (start + k) % n;
        const e = this.freelist[i]!;
        count++;
        if (e.size >= size) {
          [bestAddr, bestSize, bestIdx] = [e.addr, e.size, i];
          break;
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const e = this.freelist[i]!;
        count++;
        if (
          e.size >= size &&
          ((this.policy === 'BEST' && e.size < bestSize) ||
            (this.policy === 'WORST' && e.size > bestSize) ||
            this.policy === 'FIRST')
        ) {
          [bestAddr, bestSize, bestIdx] = [e.addr, e.size, i];
          if (this.policy === 'FIRST') break;
        }
      }
    }
    if (bestIdx === -1) return { ptr: -1, count };
    if (this.sizemap.has(bestAddr)) {
      // addToMap's assert(addr not in self.sizemap): only a zero-size chunk can share its start with another.
      return {
        ptr: -1,
        count,
        error: {
          code: FREELIST_ERR.assertion,
          message: `AssertionError: ${bestAddr} is already allocated (zero-size chunk)`,
        },
      };
    }
    if (bestSize > size) {
      this.freelist[bestIdx] = { addr: bestAddr + size, size: bestSize - size };
      this.rover = bestAddr + size;
    } else {
      this.freelist.splice(bestIdx, 1);
      const next = this.freelist[bestIdx % Math.max(1, this.freelist.length)];
      this.rover = next ? next.addr : this.base;
    }
    this.sizemap.set(bestAddr, { size, requested });
    return { ptr: bestAddr, count };
  }

  /** NEXT: the element holding the rover, else the first one after it, else the first. */
  private roverIndex(): number {
    let after = -1;
    for (let i = 0; i < this.freelist.length; i++) {
      const e = this.freelist[i]!;
      if (e.addr <= this.rover && this.rover < e.addr + e.size) return i;
      if (after < 0 && e.addr > this.rover) after = i;
    }
    return Math.max(after, 0);
  }

  /** malloc.py free(addr) of a chunk address: 0, or -1 when it was not allocated. Also the steps it took. */
  pyFree(addr: number): { rc: 0 | -1; steps: number } {
    const entry = this.sizemap.get(addr);
    if (entry === undefined) return { rc: -1, steps: 0 };
    const size = entry.size;
    const before = this.freelist.length;
    const chunk: FreeChunk = { addr, size };
    let at: number;
    switch (this.order) {
      case 'INSERT-BACK':
        this.freelist.push(chunk);
        at = -1;
        break;
      case 'INSERT-FRONT':
        this.freelist.unshift(chunk);
        at = -1;
        break;
      case 'ADDRSORT':
      case 'SIZESORT+':
      case 'SIZESORT-': {
        // Python's sorted() is stable, and so is Array.prototype.sort; reverse=True keeps equal keys in order.
        this.freelist.push(chunk);
        const cmp: (a: FreeChunk, b: FreeChunk) => number =
          this.order === 'ADDRSORT'
            ? (a, b) => a.addr - b.addr
            : this.order === 'SIZESORT+'
              ? (a, b) => a.size - b.size
              : (a, b) => b.size - a.size;
        this.freelist.sort(cmp);
        at = this.freelist.indexOf(chunk);
        break;
      }
    }
    let steps = at < 0 ? 1 : Math.max(1, Math.min(at + 1, before));
    if (this.coalesce) {
      steps += this.freelist.length;
      const newlist: FreeChunk[] = [];
      let curr = this.freelist[0]!;
      for (let i = 1; i < this.freelist.length; i++) {
        const e = this.freelist[i]!;
        if (e.addr === curr.addr + curr.size) {
          curr = { addr: curr.addr, size: curr.size + e.size };
        } else {
          newlist.push(curr);
          curr = e;
        }
      }
      newlist.push(curr);
      this.freelist = newlist;
    }
    this.sizemap.delete(addr);
    return { rc: 0, steps };
  }

  /** malloc.py dump(): "Free List [ Size n ]: [ addr:a sz:s ][ addr:a sz:s ]". */
  dump(): string {
    return `Free List [ Size ${this.freelist.length} ]: ${this.freelist.map((e) => `[ addr:${e.addr} sz:${e.size} ]`).join('')}`;
  }

  // -------------------------------------------------------------------------------------------------------
  // The Heap interface: payload addresses (chunk + headerSize)
  // -------------------------------------------------------------------------------------------------------

  malloc(size: number): HeapResult {
    if (!Number.isSafeInteger(size) || size < 0) {
      return this.record('malloc', 0, false, -1, {
        code: FREELIST_ERR.badOptions,
        message: `size must be a whole number of bytes, not ${size}`,
      });
    }
    const r = this.pyMalloc(size);
    if (r.ptr === -1) {
      return this.record(
        'malloc',
        r.count,
        false,
        -1,
        r.error ?? { code: FREELIST_ERR.noMemory, message: `no free chunk fits ${size} bytes` },
      );
    }
    return this.record('malloc', r.count, true, r.ptr + this.headerSize);
  }

  free(addr: number): HeapFreeResult {
    const r = this.pyFree(addr - this.headerSize);
    if (r.rc === -1) {
      return this.record('free', 0, false, -1, {
        code: FREELIST_ERR.notAllocated,
        message: `free of ${addr}: not an address malloc returned, or already freed (malloc.py free returns -1)`,
      });
    }
    return this.record('free', r.steps, true, 0);
  }

  blocks(): HeapBlockView[] {
    const out: HeapBlockView[] = [];
    for (const [start, e] of this.sizemap) {
      const addr = start + this.headerSize;
      out.push({ start, end: start + e.size, addr, size: start + e.size - addr, used: true });
    }
    for (const e of this.freelist) {
      out.push({ start: e.addr, end: e.addr + e.size, addr: e.addr, size: e.size, used: false });
    }
    return out.sort((a, b) => a.start - b.start || a.end - b.end);
  }

  stats(): HeapStats {
    let usedBytes = 0;
    for (const e of this.sizemap.values()) usedBytes += e.size - this.headerSize;
    let freeBytes = 0;
    let largestFree = 0;
    for (const e of this.freelist) {
      freeBytes += e.size;
      largestFree = Math.max(largestFree, e.size);
    }
    const ops: Record<string, HeapOpStats> = {};
    for (const [k, v] of Object.entries(this.ops)) ops[k] = { ...v };
    return {
      kind: 'freelist',
      heapBytes: this.size,
      usedBytes,
      freeBytes,
      largestFree,
      fragmentation: fragmentation(largestFree, freeBytes),
      overheadBytes: this.size - usedBytes - freeBytes,
      headerBytes: this.sizemap.size * this.headerSize,
      liveBlocks: this.sizemap.size,
      freeBlocks: this.freelist.length,
      lastSteps: this.lastSteps,
      worstSteps: this.worstSteps,
      ops,
    };
  }

  private record(op: 'malloc' | 'free', steps: number, ok: boolean, addr: number, error?: HeapError): HeapResult {
    const s = this.ops[op];
    s.count++;
    if (!ok) s.failures++;
    s.totalSteps += steps;
    if (steps > s.worstSteps) s.worstSteps = steps;
    this.lastSteps = steps;
    if (steps > this.worstSteps) this.worstSteps = steps;
    return error ? { ok, addr, steps, error } : { ok, addr, steps };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Python's random, as malloc.py sees it
// ---------------------------------------------------------------------------------------------------------

const N = 624;
const M = 397;

/** CPython's random.Random for integer seeds: MT19937, init_by_array seeding, random() in [0, 1). */
export class PyRandom {
  private readonly mt = new Uint32Array(N);
  private mti = N + 1;

  constructor(seed: number) {
    // random_seed(): the absolute value split into 32-bit words, least significant first; 0 gives [0].
    let n = Math.abs(Math.trunc(seed));
    const key: number[] = [];
    do {
      key.push(n % 4294967296);
      n = Math.floor(n / 4294967296);
    } while (n > 0);
    this.initByArray(key);
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]!;
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.mti = N;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k; k--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1664525)) >>> 0) + key[j]! + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k; k--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) >>> 0) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  /** genrand_uint32() */
  uint32(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      let kk = 0;
      let y: number;
      for (; kk < N - M; kk++) {
        y = (mt[kk]! & 0x80000000) | (mt[kk + 1]! & 0x7fffffff);
        mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      for (; kk < N - 1; kk++) {
        y = (mt[kk]! & 0x80000000) | (mt[kk + 1]! & 0x7fffffff);
        mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      y = (mt[N - 1]! & 0x80000000) | (mt[0]! & 0x7fffffff);
      mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      this.mti = 0;
    }
    let y = mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** random.random(): 53 bits from two draws (random_random in _randommodule.c). */
  random(): number {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864 + b) * (1 / 9007199254740992);
  }
}

// ---------------------------------------------------------------------------------------------------------
// malloc.py's command line and output
// ---------------------------------------------------------------------------------------------------------

export interface MallocPyOptions extends FreeListOptions {
  /** -s (0) */
  seed?: number;
  /** -n: random operations (10) */
  numOps?: number;
  /** -r: largest random request (10) */
  range?: number;
  /** -P: percent of random operations that allocate (50) */
  percentAlloc?: number;
  /** -A: explicit operations, "+10,-0,+20,-1" ('' = random) */
  allocList?: string;
  /** -c: print the answers (false prints "returned ?" and "List?") */
  compute?: boolean;
}

export interface MallocPyRun {
  /** What malloc.py prints, one string per line. */
  readonly lines: string[];
  /** The Python exception that would have stopped malloc.py here (its output ends before it). */
  readonly error?: string;
  /** The heap after the run. */
  readonly heap?: FreeListHeap;
}

/** Runs malloc.py's main program: the options echo, then each operation and, with compute, its answer. */
export function runMallocPy(options: MallocPyOptions = {}): MallocPyRun {
  const o = {
    seed: options.seed ?? 0,
    size: options.size ?? 100,
    base: options.base ?? 1000,
    headerSize: options.headerSize ?? 0,
    align: options.align ?? -1,
    policy: options.policy ?? 'BEST',
    order: options.order ?? 'ADDRSORT',
    coalesce: options.coalesce ?? false,
    numOps: options.numOps ?? 10,
    range: options.range ?? 10,
    percentAlloc: options.percentAlloc ?? 50,
    allocList: options.allocList ?? '',
    compute: options.compute ?? false,
  };
  const heap = FreeListHeap.create(o);
  const lines: string[] = [];
  if (!(heap instanceof FreeListHeap)) return { lines, error: `AssertionError: ${heap.message}` };
  const py = (b: boolean): string => (b ? 'True' : 'False');
  lines.push(
    `seed ${o.seed}`,
    `size ${o.size}`,
    `baseAddr ${o.base}`,
    `headerSize ${o.headerSize}`,
    `alignment ${o.align}`,
    `policy ${o.policy}`,
    `listOrder ${o.order}`,
    `coalesce ${py(o.coalesce)}`,
    `numOps ${o.numOps}`,
    `range ${o.range}`,
    `percentAlloc ${o.percentAlloc}`,
    `allocList ${o.allocList}`,
    `compute ${py(o.compute)}`,
    '',
  );
  const percent = o.percentAlloc / 100;
  if (!(percent > 0)) return { lines, error: 'AssertionError: percentAlloc must be > 0', heap };
  const rng = new PyRandom(o.seed);
  const p = new Map<number, number>();

  if (o.allocList === '') {
    const L: number[] = [];
    let c = 0;
    let j = 0;
    while (j < o.numOps) {
      let pr = false;
      if (rng.random() < percent) {
        const size = Math.trunc(rng.random() * o.range) + 1;
        const r = heap.pyMalloc(size);
        if (r.error) return { lines, error: r.error.message, heap };
        if (r.ptr !== -1) {
          p.set(c, r.ptr);
          L.push(c);
        }
        lines.push(
          `ptr[${c}] = Alloc(${size})` +
            (o.compute ? ` returned ${r.ptr + o.headerSize} (searched ${r.count} elements)` : ' returned ?'),
        );
        c++;
        j++;
        pr = true;
      } else if (p.size > 0) {
        const d = Math.trunc(rng.random() * L.length);
        const victim = L[d]!;
        const { rc } = heap.pyFree(p.get(victim)!);
        lines.push(`Free(ptr[${victim}])`, o.compute ? `returned ${rc}` : 'returned ?');
        p.delete(victim);
        L.splice(d, 1);
        pr = true;
        j++;
      }
      if (pr) lines.push(o.compute ? heap.dump() : 'List? ', '');
    }
  } else {
    let c = 0;
    for (const op of o.allocList.split(',')) {
      if (op[0] === '+') {
        const size = pyInt(op.split('+')[1]);
        if (size === undefined) return { lines, error: `ValueError: invalid literal for int(): '${op}'`, heap };
        const r = heap.pyMalloc(size);
        if (r.error) return { lines, error: r.error.message, heap };
        if (r.ptr !== -1) p.set(c, r.ptr);
        lines.push(
          `ptr[${c}] = Alloc(${size})` +
            (o.compute ? ` returned ${r.ptr} (searched ${r.count} elements)` : ' returned ?'),
        );
        c++;
      } else if (op[0] === '-') {
        const index = pyInt(op.split('-')[1]);
        if (index === undefined) return { lines, error: `ValueError: invalid literal for int(): '${op}'`, heap };
        if (index >= p.size) {
          lines.push('Invalid Free: Skipping');
          continue;
        }
        lines.push(`Free(ptr[${index}])`);
        const ptr = p.get(index);
        if (ptr === undefined) return { lines, error: `KeyError: ${index}`, heap };
        const { rc } = heap.pyFree(ptr);
        lines.push(o.compute ? `returned ${rc}` : 'returned ?');
      } else {
        // malloc.py calls abort(), which Python does not define.
        return { lines, error: `NameError: name 'abort' is not defined (badly specified operand '${op}')`, heap };
      }
      lines.push(o.compute ? heap.dump() : 'List?', '');
    }
  }
  return { lines, heap };
}

/** Python's int() of a decimal string (surrounding blanks allowed), or undefined where it would raise. */
function pyInt(s: string | undefined): number | undefined {
  if (s === undefined || !/^\s*[+-]?\d+\s*$/.test(s)) return undefined;
  return Number.parseInt(s, 10);
}

const SHORT: Record<string, keyof MallocPyOptions> = {
  s: 'seed',
  S: 'size',
  b: 'base',
  H: 'headerSize',
  a: 'align',
  p: 'policy',
  l: 'order',
  C: 'coalesce',
  n: 'numOps',
  r: 'range',
  P: 'percentAlloc',
  A: 'allocList',
  c: 'compute',
};
const LONG: Record<string, keyof MallocPyOptions> = {
  seed: 'seed',
  size: 'size',
  baseAddr: 'base',
  headerSize: 'headerSize',
  alignment: 'align',
  policy: 'policy',
  listOrder: 'order',
  coalesce: 'coalesce',
  numOps: 'numOps',
  range: 'range',
  percentAlloc: 'percentAlloc',
  allocList: 'allocList',
  compute: 'compute',
};
const FLAGS = new Set<keyof MallocPyOptions>(['coalesce', 'compute']);
const STRINGS = new Set<keyof MallocPyOptions>(['policy', 'order', 'allocList']);

/**
 * malloc.py's optparse command line ("-S 100 -b 1000 -H 4 -a 4 -l ADDRSORT -p BEST -n 5 -c"): -x value,
 * -xvalue, --name=value, --name value, -C and -c as flags. Options or the optparse-style error.
 */
export function parseMallocPyArgs(args: string | readonly string[]): MallocPyOptions | HeapError {
  const argv =
    typeof args === 'string'
      ? args
          .trim()
          .split(/\s+/)
          .filter((a) => a !== '')
      : [...args];
  const out: Record<string, unknown> = {};
  const bad = (message: string): HeapError => ({ code: FREELIST_ERR.badOptions, message });
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let key: keyof MallocPyOptions | undefined;
    let value: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      key = LONG[eq < 0 ? arg.slice(2) : arg.slice(2, eq)];
      if (eq >= 0) value = arg.slice(eq + 1);
    } else if (arg.startsWith('-') && arg.length >= 2) {
      key = SHORT[arg[1]!];
      if (arg.length > 2) value = arg.slice(2);
    }
    if (key === undefined) return bad(`no such option: ${arg}`);
    if (FLAGS.has(key)) {
      out[key] = true;
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) return bad(`${arg} option requires an argument`);
    }
    if (STRINGS.has(key)) {
      out[key] = value;
    } else {
      const n = pyInt(value);
      if (n === undefined) return bad(`option ${arg}: invalid integer value: '${value}'`);
      out[key] = n;
    }
  }
  return out as MallocPyOptions;
}
