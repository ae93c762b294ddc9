/*
 * The names a scenario can use without declaring them: builtin functions and constants.
 *
 * Functions are checked by name and arity at compile time; each compiles to its own VM opcode, so a call
 * costs no lookup at run time. Constants are the GFP masks of engine/mm/gfp.ts (GFP_NAMES), the SLAB_* flags,
 * the PROT_* bits and the heap options, folded into the bytecode. Builtins cannot be redeclared or assigned
 * (KM2010); variables live in their own scopes and never shadow a builtin.
 *
 * What each name means is told here too (BuiltinDocs, ConstantFamily): hovers read it, and scripts/gen-docs.mjs
 * writes the tables of docs/language.md from it.
 */

import { GFP_NAMES } from '../mm/gfp';
import { EventKind } from '../trace/events';
import { Value } from '../vm/values';
import { ALL_GENERIC_BUILTINS as GENERIC_BUILTINS, BuiltinDocs } from '../vm/calls';
import { PROT_NAMES } from '../vm/calls_tasks';
import { HEAP_NAMES } from '../vm/calls_heaps';
import {
  SLAB_ACCOUNT,
  SLAB_CACHE_DMA,
  SLAB_CACHE_DMA32,
  SLAB_HWCACHE_ALIGN,
  SLAB_NO_MERGE,
  SLAB_PANIC,
  SLAB_RECLAIM_ACCOUNT,
  SLAB_TYPESAFE_BY_RCU,
  SLAB_CONSISTENCY_CHECKS,
  SLAB_POISON,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SLAB_TRACE,
} from '../mm/slub';

/** A builtin function: its texts (BuiltinDocs) and how calls to it are checked. */
export interface BuiltinFunction extends BuiltinDocs {
  /** Parameters that take a string literal (a name), by position. */
  readonly stringParams?: readonly number[];
  /** Parameters that name a procedure of one parameter (a callback such as a constructor), by position. */
  readonly procParams?: readonly number[];
  /** How many trailing parameters may be left out. */
  readonly optional?: number;
}

export const BUILTIN_FUNCTIONS: ReadonlyMap<string, BuiltinFunction> = new Map(
  (
    [
      {
        name: 'length',
        params: ['list'],
        returnsValue: true,
        summary: 'How many items a list holds: length(pool).',
        doc: 'The number of items in `list` (a list made with `[]` and grown with `push`). It is a name of its own, not `len`, so `len` stays free for a packet length.',
        returns: 'a count',
        topic: 'lists',
      },
      {
        name: 'kmalloc',
        params: ['size', 'gfp'],
        returnsValue: true,
        summary:
          'Allocates size bytes from the kmalloc caches (above 8K, from the page allocator); returns a pointer, NULL, or ZERO_SIZE_PTR for 0 bytes.',
        doc: '`kmalloc()` of Linux 6.12: sizes 1..8K from the kmalloc caches (96 and 192 included; `kmalloc-rcl-` with `__GFP_RECLAIMABLE`, `dma-kmalloc-` with `__GFP_DMA`, `kmalloc-cg-` with `__GFP_ACCOUNT`), larger ones as 2^order pages from the buddy allocator. `kmalloc(0, ...)` returns `ZERO_SIZE_PTR`; a request that cannot be met returns `NULL`.',
        returns: 'a pointer',
        topic: 'kmalloc',
      },
      {
        name: 'kfree',
        params: ['ptr'],
        returnsValue: false,
        summary: 'Frees an object kmalloc returned; NULL and ZERO_SIZE_PTR are ignored.',
        doc: 'Frees what `kmalloc` returned. `NULL` and `ZERO_SIZE_PTR` are ignored, as in the kernel. A double free (KM4002), a pointer into the middle of an object (KM4003) or an address `kmalloc` did not return stops the scenario with an error.',
        returns: 'nothing',
        topic: 'kmalloc',
      },
      {
        name: 'alloc_pages',
        params: ['order', 'gfp'],
        returnsValue: true,
        summary:
          'Allocates 2^order contiguous pages (order 0..10) from the buddy allocator; returns the direct-map address of the first page, or NULL (with a page allocation failure warning in the log unless __GFP_NOWARN). Compound only with __GFP_COMP.',
        doc: '2^`order` contiguous pages (order 0..10, 4K..4M) from the buddy allocator, from the highest zone `gfp` allows (`GFP_DMA`: DMA, `GFP_DMA32`: DMA32, otherwise Normal), falling back to lower zones. Returns the direct-map address of the first page, or `NULL`. The block is compound (head and tail pages) only with `__GFP_COMP`; `__GFP_ZERO` is accepted.',
        returns: 'a pointer',
        topic: 'pages',
      },
      {
        name: 'free_pages',
        params: ['ptr', 'order'],
        returnsValue: false,
        summary:
          'Gives 2^order pages back to the buddy allocator; NULL is ignored. A double free, a wrong order, a tail page or a reserved page stops the scenario with "BUG: Bad page state" (KM4005).',
        doc: 'Gives 2^`order` pages back (the page holding `ptr`, as `virt_to_page` finds it). `NULL` is ignored. Freeing pages that are already free, with another order than they were allocated with, through a tail page, or a reserved page or slab stops the scenario with KM4005, the kernel\'s "Bad page state" report.',
        returns: 'nothing',
        topic: 'pages',
      },
      {
        name: '__get_free_pages',
        params: ['gfp', 'order'],
        returnsValue: true,
        summary:
          'The kernel argument order of alloc_pages: 2^order pages, their address or NULL (__GFP_HIGHMEM is dropped).',
        doc: "`alloc_pages(order, gfp)` with the kernel's argument order; `__GFP_HIGHMEM` is dropped, as the kernel does.",
        returns: 'a pointer',
        topic: 'pages',
      },
      {
        name: 'get_zeroed_page',
        params: ['gfp'],
        returnsValue: true,
        summary: 'One zeroed page: __get_free_pages(gfp | __GFP_ZERO, 0); its address or NULL.',
        doc: '`__get_free_pages(gfp | __GFP_ZERO, 0)`: one page.',
        returns: 'a pointer',
        topic: 'pages',
      },
      ...GENERIC_BUILTINS,
    ] satisfies readonly BuiltinFunction[]
  ).map(
    (f) =>
      [
        f.name,
        {
          name: f.name,
          params: f.params,
          returnsValue: f.returnsValue,
          summary: f.summary,
          doc: f.doc,
          returns: f.returns,
          topic: f.topic,
          ...('stringParams' in f && f.stringParams ? { stringParams: f.stringParams } : {}),
          ...('procParams' in f && f.procParams ? { procParams: f.procParams } : {}),
          ...('optional' in f && f.optional ? { optional: f.optional } : {}),
        },
      ] as const,
  ),
);

/** SLAB_* flags of kmem_cache_create (the emulator's bit values; the names are the kernel's). */
const SLAB_NAMES: ReadonlyMap<string, number> = new Map([
  ['SLAB_HWCACHE_ALIGN', SLAB_HWCACHE_ALIGN],
  ['SLAB_CACHE_DMA', SLAB_CACHE_DMA],
  ['SLAB_CACHE_DMA32', SLAB_CACHE_DMA32],
  ['SLAB_RECLAIM_ACCOUNT', SLAB_RECLAIM_ACCOUNT],
  ['SLAB_ACCOUNT', SLAB_ACCOUNT],
  ['SLAB_TYPESAFE_BY_RCU', SLAB_TYPESAFE_BY_RCU],
  ['SLAB_PANIC', SLAB_PANIC],
  ['SLAB_NO_MERGE', SLAB_NO_MERGE],
  ['SLAB_CONSISTENCY_CHECKS', SLAB_CONSISTENCY_CHECKS],
  ['SLAB_RED_ZONE', SLAB_RED_ZONE],
  ['SLAB_POISON', SLAB_POISON],
  ['SLAB_STORE_USER', SLAB_STORE_USER],
  ['SLAB_TRACE', SLAB_TRACE],
]);

/** A family of builtin constants: what one of them is, and where the values come from. */
export interface ConstantFamily {
  /** What a member is, as its hover names it ("GFP mask") and the docs' table heads its column. */
  readonly kind: string;
  /** Where the values come from and what takes them (markdown, one paragraph): hovers and the docs. */
  readonly doc: string;
  readonly values: ReadonlyMap<string, number>;
}

/** Every builtin constant, by family: the source of BUILTIN_CONSTANTS, of hovers and of the docs' tables. */
export const CONSTANT_FAMILIES: readonly ConstantFamily[] = [
  {
    kind: 'GFP mask',
    doc: 'The bit values of `include/linux/gfp_types.h` (Linux 6.12). Combine them with `|`: `GFP_ATOMIC | __GFP_ZERO`.',
    values: GFP_NAMES,
  },
  {
    kind: 'kmem_cache_create flag',
    doc: "The kernel's names (`include/linux/slab.h`) with the emulator's bit values, for `kmem_cache_create`'s `flags`; combine them with `|`.",
    values: SLAB_NAMES,
  },
  {
    kind: 'memory protection bit',
    doc: 'The values of `include/uapi/asm-generic/mman-common.h`, for `mmap`, `mprotect`, `touch` and `ktouch`.',
    values: PROT_NAMES,
  },
  {
    kind: 'heap option',
    doc: "The kinds `heap_create` takes (`HEAP_TLSF`, or a free list with a `HEAP_*_FIT` policy, which is also `freelist_heap`'s `policy`) and `freelist_heap`'s list orders (`LIST_*`, malloc.py's `-l`).",
    values: HEAP_NAMES,
  },
];

export const BUILTIN_CONSTANTS: ReadonlyMap<string, Value> = new Map<string, Value>(
  CONSTANT_FAMILIES.flatMap((family) => [...family.values]),
);

/** The family of a builtin constant, or undefined for a name that is none. */
export function constantFamily(name: string): ConstantFamily | undefined {
  return CONSTANT_FAMILIES.find((family) => family.values.has(name));
}

/** The detector reports an `expect KIND { ... }` block can expect, by the name of their event. */
export const REPORT_KINDS: ReadonlyMap<string, EventKind> = new Map([
  ['slub_debug', EventKind.SlubDebug],
  ['kasan', EventKind.Kasan],
  ['kmemleak', EventKind.Kmemleak],
  ['kfence', EventKind.Kfence],
  ['might_sleep', EventKind.MightSleep],
]);

export function isBuiltinName(name: string): boolean {
  return BUILTIN_FUNCTIONS.has(name) || BUILTIN_CONSTANTS.has(name);
}
