/*
 * Scenario builtins for real-time heaps (engine/heap): a TLSF heap (M. Conte's tlsf.c) or a free-list heap
 * (OSTEP's malloc.py) over a region of its own, outside the kernel's physical memory. A heap is named by its
 * handle; addresses are plain numbers inside its region (TLSF heaps start at 0x100000 apart, free-list heaps
 * at 1000 as malloc.py's -b default, so its worked examples read the same).
 *
 * Failures follow each allocator: a TLSF malloc that cannot be met returns 0 (NULL), a malloc.py one -1; a
 * bad TLSF free is what tlsf.c would assert on (not a block, double free, corrupted header) and stops the
 * scenario with its code; malloc.py's "Invalid Free" only returns -1, as the script carries on.
 */

import { FIT_POLICIES, FreeListHeap, LIST_ORDERS } from '../heap/freelist';
import { ByteRegion, Heap } from '../heap/region';
import { Tlsf } from '../heap/tlsf';
import { Machine } from '../mm/machine';
import type { CallFailure, GenericBuiltin } from './calls';
import { Value, formatValue } from './values';

/** Heap kinds a scenario names: TLSF, or a free list with one of malloc.py's policies. */
export const HEAP_NAMES: ReadonlyMap<string, number> = new Map([
  ['HEAP_TLSF', 0],
  ['HEAP_BEST_FIT', 1],
  ['HEAP_WORST_FIT', 2],
  ['HEAP_FIRST_FIT', 3],
  ['HEAP_NEXT_FIT', 4],
  // malloc.py's -l list orders.
  ['LIST_ADDRSORT', 0],
  ['LIST_SIZESORT_ASC', 1],
  ['LIST_SIZESORT_DESC', 2],
  ['LIST_INSERT_FRONT', 3],
  ['LIST_INSERT_BACK', 4],
]);

const TLSF_BASE = 0x100000;
const MAX_HEAP = 64 * 1024 * 1024;
/** All TLSF regions of one machine together: their bytes are real memory of the emulator. */
const MAX_HEAP_TOTAL = 256 * 1024 * 1024;

function tlsfBytes(machine: Machine): number {
  let n = 0;
  for (const h of machine.heaps) if (h instanceof Tlsf) n += h.stats().heapBytes;
  return n;
}

function isFailure(x: unknown): x is CallFailure {
  return typeof x === 'object' && x !== null && 'code' in x;
}

function heapOf(machine: Machine, name: string, handle: Value): Heap | CallFailure {
  const heap = typeof handle === 'number' ? machine.heaps[handle] : undefined;
  if (!heap) return { code: 'KM4232', message: `${name}: ${formatValue(handle)} is no heap (heap_create returns one)` };
  return heap;
}

function sizeOf(name: string, v: Value): number | CallFailure {
  if (typeof v !== 'number' || v < 0) {
    return { code: 'KM6001', message: `${name}: size must be a byte count, not ${formatValue(v)}` };
  }
  return v;
}

function createFreeList(
  machine: Machine,
  policy: number,
  size: number,
  header: number,
  align: number,
  order: number,
  coalesce: boolean,
) {
  const heap = FreeListHeap.create({
    size,
    base: 1000,
    headerSize: header,
    align,
    policy: FIT_POLICIES[policy - 1],
    order: LIST_ORDERS[order],
    coalesce,
  });
  if ('code' in heap) return heap;
  machine.heaps.push(heap);
  return machine.heaps.length - 1;
}

/** The doc heap_steps() and heap_worst_steps() share, as one row of the builtin table of docs/language.md. */
const HEAP_STEPS_DOC = 'The steps of the last operation, and of the worst one so far.';

export const HEAP_BUILTINS: readonly GenericBuiltin[] = [
  {
    name: 'heap_create',
    params: ['kind', 'size'],
    returnsValue: true,
    summary:
      "A heap of size bytes: HEAP_TLSF (tlsf_create_with_pool: the control structure at the start of the region), or a free list with malloc.py's defaults (no headers, no alignment, address-sorted, no coalescing) and the policy HEAP_BEST_FIT, HEAP_WORST_FIT, HEAP_FIRST_FIT or HEAP_NEXT_FIT. Returns the heap handle.",
    doc: "A real-time heap of `size` bytes in a region of its own: `HEAP_TLSF` (M. Conte's tlsf.c: two-level bitmaps, O(1) malloc and free, headers in the region's bytes), or a free list with `HEAP_BEST_FIT`, `HEAP_WORST_FIT`, `HEAP_FIRST_FIT` or `HEAP_NEXT_FIT` and malloc.py's defaults.",
    returns: 'a heap',
    topic: 'heaps',
    run(machine, [kind, sizeArg]) {
      const size = sizeOf('heap_create', sizeArg!);
      if (isFailure(size)) return size;
      if (size > MAX_HEAP) return { code: 'KM6001', message: `heap_create: at most 64M per heap, not ${size}` };
      if (kind === 0) {
        if (tlsfBytes(machine) + size > MAX_HEAP_TOTAL) {
          return { code: 'KM6001', message: `heap_create: TLSF heaps may hold 256M in all; this one would pass that` };
        }
        const base = TLSF_BASE * (machine.heaps.length + 1);
        const heap = Tlsf.createWithPool(new ByteRegion(base, size));
        if ('code' in heap) return heap;
        machine.heaps.push(heap);
        return machine.heaps.length - 1;
      }
      if (typeof kind !== 'number' || kind < 1 || kind > 4) {
        return { code: 'KM6102', message: `heap_create: kind must be HEAP_TLSF or a HEAP_*_FIT policy` };
      }
      return createFreeList(machine, kind, size, 0, -1, 0, false);
    },
  },
  {
    name: 'freelist_heap',
    params: ['policy', 'size', 'header', 'align', 'order', 'coalesce'],
    returnsValue: true,
    summary:
      "A free-list heap with every option of OSTEP's malloc.py: the fit policy (-p), size (-S), header bytes (-H), alignment (-a, -1 for none), list order (-l: LIST_ADDRSORT, LIST_SIZESORT_ASC, LIST_SIZESORT_DESC, LIST_INSERT_FRONT, LIST_INSERT_BACK) and coalescing (-C: 1 or 0); its base is malloc.py's 1000.",
    doc: "OSTEP's malloc.py with every option: `-p`, `-S`, `-H`, `-a` (-1: none), `-l` (`LIST_ADDRSORT`, `LIST_SIZESORT_ASC`, `LIST_SIZESORT_DESC`, `LIST_INSERT_FRONT`, `LIST_INSERT_BACK`), `-C` (1 or 0); base 1000.",
    returns: 'a heap',
    topic: 'heaps',
    run(machine, [policy, sizeArg, header, align, order, coalesce]) {
      const size = sizeOf('freelist_heap', sizeArg!);
      if (isFailure(size)) return size;
      if (
        typeof policy !== 'number' ||
        policy < 1 ||
        policy > 4 ||
        typeof order !== 'number' ||
        order < 0 ||
        order > 4
      ) {
        return { code: 'KM6102', message: 'freelist_heap: policy must be a HEAP_*_FIT and order a LIST_* constant' };
      }
      if (typeof header !== 'number' || typeof align !== 'number') {
        return { code: 'KM6102', message: 'freelist_heap: header and align must be integers' };
      }
      return createFreeList(machine, policy, size, header, align, order, coalesce !== 0 && coalesce !== 0n);
    },
  },
  {
    name: 'heap_alloc',
    params: ['heap', 'size'],
    returnsValue: true,
    summary: "Allocates from the heap: the address, or the allocator's failure value (0 for TLSF, -1 for malloc.py).",
    doc: 'Allocates `size` bytes: its address, or 0 from a TLSF heap that cannot, -1 from malloc.py.',
    returns: 'an address, 0 or -1',
    topic: 'heaps',
    run(machine, [handle, sizeArg]) {
      const heap = heapOf(machine, 'heap_alloc', handle!);
      if (isFailure(heap)) return heap;
      const size = sizeOf('heap_alloc', sizeArg!);
      if (isFailure(size)) return size;
      return heap.malloc(size).addr;
    },
  },
  {
    name: 'heap_free',
    params: ['heap', 'addr'],
    returnsValue: true,
    summary:
      'Frees a block: 0 when done; a TLSF free of something that is no live block stops the scenario (tlsf.c would assert), a malloc.py one returns -1 ("Invalid Free").',
    doc: 'Frees the block at `addr`: 0; a bad TLSF free stops the scenario as tlsf.c would assert; malloc.py returns -1.',
    returns: '0 or -1',
    topic: 'heaps',
    run(machine, [handle, addr]) {
      const heap = heapOf(machine, 'heap_free', handle!);
      if (isFailure(heap)) return heap;
      if (typeof addr !== 'number') {
        return { code: 'KM6002', message: `heap_free: ${formatValue(addr!)} is no heap address` };
      }
      const r = heap.free(addr);
      if (r.ok) return 0;
      if (heap.kind === 'tlsf') return r.error ?? { code: 'KM6002', message: 'heap_free: not a block' };
      return -1;
    },
  },
  {
    name: 'heap_steps',
    params: ['heap'],
    returnsValue: true,
    summary:
      "The steps the heap's last operation took (bitmap searches, list operations, splits, merges; malloc.py: elements searched).",
    doc: HEAP_STEPS_DOC,
    returns: 'a count',
    topic: 'heaps',
    run(machine, [handle]) {
      const heap = heapOf(machine, 'heap_steps', handle!);
      return isFailure(heap) ? heap : heap.stats().lastSteps;
    },
  },
  {
    name: 'heap_worst_steps',
    params: ['heap'],
    returnsValue: true,
    summary: 'The most steps any operation on the heap has taken: its worst case so far.',
    doc: HEAP_STEPS_DOC,
    returns: 'a count',
    topic: 'heaps',
    run(machine, [handle]) {
      const heap = heapOf(machine, 'heap_worst_steps', handle!);
      return isFailure(heap) ? heap : heap.stats().worstSteps;
    },
  },
  {
    name: 'heap_fragmentation',
    params: ['heap'],
    returnsValue: true,
    summary:
      'Fragmentation in thousandths: 1000 * (1 - largest free block / free bytes); 0 when free space is one block.',
    doc: '1000 × (1 − largest free block / free bytes).',
    returns: 'a count',
    topic: 'heaps',
    run(machine, [handle]) {
      const heap = heapOf(machine, 'heap_fragmentation', handle!);
      return isFailure(heap) ? heap : Math.round(heap.stats().fragmentation * 1000);
    },
  },
  {
    name: 'heap_check',
    params: ['heap'],
    returnsValue: true,
    summary: "The problems tlsf_check() finds in a TLSF heap's bytes (0 for a sound heap; free-list heaps: 0).",
    doc: 'The problems `tlsf_check()` finds.',
    returns: 'a count',
    topic: 'heaps',
    run(machine, [handle]) {
      const heap = heapOf(machine, 'heap_check', handle!);
      if (isFailure(heap)) return heap;
      return heap instanceof Tlsf ? heap.check().length : 0;
    },
  },
];
