/*
 * The names a scenario can use without declaring them: builtin functions and constants.
 *
 * Functions are checked by name and arity at compile time; each compiles to its own VM opcode, so a call
 * costs no lookup at run time. Constants are the GFP masks of engine/mm/gfp.ts (GFP_NAMES), folded into
 * the bytecode. Builtins cannot be redeclared or assigned (KM2010); variables live in their own scopes
 * and never shadow a builtin.
 */

import { GFP_NAMES } from '../mm/gfp';
import { EventKind } from '../trace/events';
import { Value } from '../vm/values';
import { ALL_GENERIC_BUILTINS as GENERIC_BUILTINS } from '../vm/calls';
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

export interface BuiltinFunction {
  readonly name: string;
  readonly params: readonly string[];
  /** False for functions that return nothing (a call to them cannot be a value). */
  readonly returnsValue: boolean;
  /** One line for hovers and the docs. */
  readonly summary: string;
  /** Parameters that take a string literal (a name), by position. */
  readonly stringParams?: readonly number[];
  /** Parameters that name a procedure of one parameter (a callback such as a constructor), by position. */
  readonly procParams?: readonly number[];
  /** How many trailing parameters may be left out. */
  readonly optional?: number;
}

export const BUILTIN_FUNCTIONS: ReadonlyMap<string, BuiltinFunction> = new Map(
  [
    {
      name: 'kmalloc',
      params: ['size', 'gfp'],
      returnsValue: true,
      summary:
        'Allocates size bytes from the kmalloc caches (above 8K, from the page allocator); returns a pointer, NULL, or ZERO_SIZE_PTR for 0 bytes.',
    },
    {
      name: 'kfree',
      params: ['ptr'],
      returnsValue: false,
      summary: 'Frees an object kmalloc returned; NULL and ZERO_SIZE_PTR are ignored.',
    },
    {
      name: 'alloc_pages',
      params: ['order', 'gfp'],
      returnsValue: true,
      summary:
        'Allocates 2^order contiguous pages (order 0..10) from the buddy allocator; returns the direct-map address of the first page, or NULL (with a page allocation failure warning in the log unless __GFP_NOWARN). Compound only with __GFP_COMP.',
    },
    {
      name: 'free_pages',
      params: ['ptr', 'order'],
      returnsValue: false,
      summary:
        'Gives 2^order pages back to the buddy allocator; NULL is ignored. A double free, a wrong order, a tail page or a reserved page stops the scenario with "BUG: Bad page state" (KM4005).',
    },
    {
      name: '__get_free_pages',
      params: ['gfp', 'order'],
      returnsValue: true,
      summary:
        'The kernel argument order of alloc_pages: 2^order pages, their address or NULL (__GFP_HIGHMEM is dropped).',
    },
    {
      name: 'get_zeroed_page',
      params: ['gfp'],
      returnsValue: true,
      summary: 'One zeroed page: __get_free_pages(gfp | __GFP_ZERO, 0); its address or NULL.',
    },
    ...GENERIC_BUILTINS,
  ].map(
    (f) =>
      [
        f.name,
        {
          name: f.name,
          params: f.params,
          returnsValue: f.returnsValue,
          summary: f.summary,
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

export const BUILTIN_CONSTANTS: ReadonlyMap<string, Value> = new Map<string, Value>([
  ...GFP_NAMES,
  ...PROT_NAMES,
  ...SLAB_NAMES,
  ...HEAP_NAMES,
]);

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
