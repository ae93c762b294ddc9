/*
 * Builtins that run through one generic VM instruction (Op.CallBuiltin site id argc) instead of an opcode of
 * their own: everything but the hot allocation calls (kmalloc, kfree, alloc_pages, free_pages keep theirs).
 *
 * Each entry checks its arguments, calls the machine and returns a value (for functions that return one),
 * nothing, or a runtime failure with a stable KM4xxx code. The checker and hovers read the same table
 * (engine/lang/builtins.ts), so a builtin's name, parameters and texts live in one place (BuiltinDocs).
 */

import { MAX_PAGE_ORDER, PAGE_SIZE } from '../mm/config';
import { KMALLOC_ZERO, Machine } from '../mm/machine';
import { KmemCache, SLAB_PANIC } from '../mm/slub';
import { GFP_KERNEL, __GFP_ZERO } from '../mm/gfp';
import { isVmallocError } from '../mm/vmalloc';
import { formatGfpMode } from '../mm/page_report';
import { TASK_BUILTINS } from './calls_tasks';
import { HEAP_BUILTINS } from './calls_heaps';
import { BULK_MAX, MEMORY_BUILTINS, pointerArray } from './calls_memory';
import { DETECTOR_BUILTINS } from './calls_detectors';
import { CONTEXT_BUILTINS } from './calls_context';
import { STATS_BUILTINS } from './calls_stats';
import { compactMachine } from '../mm/compaction';
import { Value, formatValue as formatValueImpl } from './values';

export interface CallFailure {
  readonly code: string;
  readonly message: string;
  readonly report?: string;
}

/**
 * The tables of docs/language.md that list builtins, by what they are about: each generated builtin table
 * there names the topics it shows, in order (scripts/gen-docs.mjs).
 */
export type BuiltinTopic =
  | 'kmalloc'
  | 'slab'
  | 'pages'
  | 'memory'
  | 'detectors'
  | 'context'
  | 'vmalloc'
  | 'processes'
  | 'compaction'
  | 'heaps'
  | 'lists'
  | 'stats';

/**
 * What a builtin is, as the language service and docs/language.md tell it: the one source of both (hovers
 * show the signature, the summary, the doc and what it returns; scripts/gen-docs.mjs writes the docs' rows).
 * Builtins whose `doc` is the same string, one after the other in a topic, share a row of the docs.
 */
export interface BuiltinDocs {
  readonly name: string;
  readonly params: readonly string[];
  /** False for functions that return nothing (a call to them cannot be a value). */
  readonly returnsValue: boolean;
  /** One line: completion items and signature help show it, a hover starts with it. */
  readonly summary: string;
  /** The reference text (markdown, one paragraph): the meaning column of the docs' table, and the hover's body. */
  readonly doc: string;
  /** What a call gives, as the docs' table says it: "a pointer", "a count", "nothing" (returnsValue false). */
  readonly returns: string;
  readonly topic: BuiltinTopic;
}

export interface GenericBuiltin extends BuiltinDocs {
  /** Parameters that take a string literal; run() gets their text through `strings[arg]`. */
  readonly stringParams?: readonly number[];
  /** Parameters that name a procedure of one parameter (a callback); run() gets the procedure's id. */
  readonly procParams?: readonly number[];
  /** How many trailing parameters may be left out (run() then gets fewer arguments). */
  readonly optional?: number;
  run(
    machine: Machine,
    args: readonly Value[],
    strings: readonly string[],
    host: BuiltinHost,
  ): Value | undefined | CallFailure;
}

/** What a builtin may ask of the VM running it. */
export interface BuiltinHost {
  /** Runs procedure `proc` with `args` to its end, now (a constructor SLUB calls); its error ends the call. */
  callProcedure(proc: number, args: readonly Value[]): void;
  /** The procedure's name, for the kernel's %pS of it. */
  procedureName(proc: number): string;
  /** The values kernel code holds now (every active frame's variables, the operands): kmemleak's roots. */
  liveValues(): Value[];
}

const NULL = 0n;

export function isCallFailure(x: Value | undefined | CallFailure): x is CallFailure {
  return typeof x === 'object';
}

/** A direct-map pointer's physical address, or a failure naming the builtin. */
function physOf(machine: Machine, name: string, ptr: Value, code: string): number | CallFailure {
  const phys = typeof ptr === 'bigint' ? machine.phys(ptr) : undefined;
  if (phys === undefined) {
    return { code, message: `${name} of ${formatValueImpl(ptr)}, which is not a direct-map address inside memory` };
  }
  return phys;
}

function count(name: string, what: string, v: Value, max: number): number | CallFailure {
  if (typeof v !== 'number' || v < 0 || v > max) {
    return {
      code: 'KM4107',
      message: `${name} ${what} must be an integer from 0 to ${max}, not ${formatValueImpl(v)}`,
    };
  }
  return v;
}

function gfpOf(name: string, v: Value): number | CallFailure {
  if (typeof v !== 'number' || v < 0 || v > 0xffffffff) {
    return {
      code: 'KM4106',
      message: `${name} gfp must be a mask of GFP flags (like GFP_KERNEL), not ${formatValueImpl(v)}`,
    };
  }
  return v;
}

/** The doc vmalloc() and vzalloc() share, as one row of the builtin table of docs/language.md. */
const VMALLOC_DOC =
  "Virtually contiguous memory in the vmalloc area (single pages mapped into the kernel page table, an unmapped guard page after the area); `NULL` on failure, with the kernel's vmalloc error lines in the log.";

/** The doc kmem_cache_alloc() and kmem_cache_zalloc() share, as one row of the builtin table of docs/language.md. */
const KMEM_CACHE_ALLOC_DOC = 'An object of the cache (zeroed by `kmem_cache_zalloc`).';

export const GENERIC_BUILTINS: readonly GenericBuiltin[] = [
  {
    name: 'split_page',
    params: ['ptr', 'order'],
    returnsValue: false,
    summary:
      'Splits a non-compound block of 2^order pages into single pages, each freed on its own with free_pages(p, 0) (mm/page_alloc.c split_page). A compound block or another order stops the scenario (KM4010).',
    doc: 'A non-compound 2^`order` block becomes single pages, each freed on its own (KM4010 for a compound block or another order).',
    returns: 'nothing',
    topic: 'pages',
    run(machine, [ptr, orderArg]) {
      const order = count('split_page', 'order', orderArg!, MAX_PAGE_ORDER);
      if (typeof order !== 'number') return order;
      const phys = physOf(machine, 'split_page', ptr!, 'KM4006');
      if (typeof phys !== 'number') return phys;
      return machine.splitPage(phys, order);
    },
  },
  {
    name: 'alloc_pages_exact',
    params: ['size', 'gfp'],
    returnsValue: true,
    summary:
      'Allocates PAGE_ALIGN(size) bytes of contiguous pages: a 2^get_order(size) block split into single pages, the unused tail given back at once (make_alloc_exact). Returns the address or NULL.',
    doc: 'PAGE_ALIGN(`size`) bytes of contiguous pages: a 2^get_order(size) block split, its unused tail given back at once.',
    returns: 'a pointer',
    topic: 'pages',
    run(machine, [sizeArg, gfpArg]) {
      const size = count('alloc_pages_exact', 'size', sizeArg!, Number.MAX_SAFE_INTEGER);
      if (typeof size !== 'number') return size;
      const gfp = gfpOf('alloc_pages_exact', gfpArg!);
      if (typeof gfp !== 'number') return gfp;
      const phys = machine.allocPagesExact(size, gfp);
      return phys >= 0 ? machine.virt(phys) : NULL;
    },
  },
  {
    name: 'free_pages_exact',
    params: ['ptr', 'size'],
    returnsValue: false,
    summary: 'Frees what alloc_pages_exact(size) returned: free_page() on each of its PAGE_ALIGN(size) / 4096 pages.',
    doc: 'Frees what `alloc_pages_exact(size)` returned, page by page.',
    returns: 'nothing',
    topic: 'pages',
    run(machine, [ptr, sizeArg]) {
      const size = count('free_pages_exact', 'size', sizeArg!, PAGE_SIZE << MAX_PAGE_ORDER);
      if (typeof size !== 'number') return size;
      if (ptr === NULL || ptr === 0) return undefined;
      const phys = physOf(machine, 'free_pages_exact', ptr!, 'KM4006');
      if (typeof phys !== 'number') return phys;
      return machine.freePagesExact(phys, size);
    },
  },
  {
    name: 'vmalloc',
    params: ['size'],
    returnsValue: true,
    summary:
      'Allocates size bytes of virtually contiguous memory in the vmalloc area: single pages from the page allocator mapped into the kernel page table, followed by an unmapped guard page (mm/vmalloc.c). Returns the address or NULL.',
    doc: VMALLOC_DOC,
    returns: 'a pointer',
    topic: 'vmalloc',
    run: (machine, [size]) => vmallocCall(machine, 'vmalloc', size!, false),
  },
  {
    name: 'vzalloc',
    params: ['size'],
    returnsValue: true,
    summary: 'vmalloc() with zeroed pages (__GFP_ZERO).',
    doc: VMALLOC_DOC,
    returns: 'a pointer',
    topic: 'vmalloc',
    run: (machine, [size]) => vmallocCall(machine, 'vzalloc', size!, true),
  },
  {
    name: 'vfree',
    params: ['ptr'],
    returnsValue: false,
    summary:
      'Frees a vmalloc area: unmaps it, gives its pages back. NULL is ignored; an address that is no vmalloc area stops the scenario with the kernel\'s "Trying to vfree() nonexistent vm area" (KM4011).',
    doc: 'Frees a vmalloc area; `NULL` is ignored; a pointer that is no area is KM4011 with the kernel\'s "Trying to vfree() ..." lines.',
    returns: 'nothing',
    topic: 'vmalloc',
    run(machine, [ptr]) {
      if (ptr === NULL || ptr === 0) return undefined;
      if (typeof ptr !== 'bigint') {
        return { code: 'KM4011', message: `vfree of ${formatValueImpl(ptr!)}, which is not a kernel address` };
      }
      const r = machine.vmalloc.vfree(ptr);
      if (isVmallocError(r)) {
        const report = r.log.map((l) => `${l.text}\n`).join('');
        return { code: 'KM4011', message: r.message, ...(report ? { report } : {}) };
      }
      if (r) machine.kmemleak?.free(r.area.addr); // kmemleak_free() of the area
      return undefined;
    },
  },
  {
    name: 'kzalloc',
    params: ['size', 'gfp'],
    returnsValue: true,
    summary: 'kmalloc(size, gfp | __GFP_ZERO): the object comes back zeroed.',
    doc: "`kmalloc(size, gfp | __GFP_ZERO)`: the object's bytes come back zeroed.",
    returns: 'a pointer',
    topic: 'kmalloc',
    run(machine, [sizeArg, gfpArg]) {
      const size = count('kzalloc', 'size', sizeArg!, Number.MAX_SAFE_INTEGER);
      if (typeof size !== 'number') return { ...size, code: 'KM4101' };
      const gfp = gfpOf('kzalloc', gfpArg!);
      if (typeof gfp !== 'number') return gfp;
      return kmallocValue(machine, machine.kmalloc(size, gfp | __GFP_ZERO));
    },
  },
  {
    name: 'kmalloc_array',
    params: ['n', 'size', 'gfp'],
    returnsValue: true,
    summary: 'kmalloc(n * size, gfp), or NULL without allocating when n * size overflows size_t (check_mul_overflow).',
    doc: '`kmalloc(n * size, gfp)`, or `NULL` without allocating when `n * size` overflows 64 bits (`check_mul_overflow`).',
    returns: 'a pointer',
    topic: 'kmalloc',
    run: (machine, [n, size, gfp]) => kmallocArray(machine, 'kmalloc_array', n!, size!, gfp!, false),
  },
  {
    name: 'kcalloc',
    params: ['n', 'size', 'gfp'],
    returnsValue: true,
    summary: 'kmalloc_array(n, size, gfp | __GFP_ZERO): zeroed, and NULL when n * size overflows.',
    doc: '`kmalloc_array` with `__GFP_ZERO`.',
    returns: 'a pointer',
    topic: 'kmalloc',
    run: (machine, [n, size, gfp]) => kmallocArray(machine, 'kcalloc', n!, size!, gfp!, true),
  },
  {
    name: 'krealloc',
    params: ['ptr', 'size', 'gfp'],
    returnsValue: true,
    summary:
      'Resizes a kmalloc object: the same pointer while ksize() still holds size, else a new object with the old bytes copied and the old one freed; size 0 frees and returns ZERO_SIZE_PTR; NULL acts as kmalloc.',
    doc: 'The same object while `ksize(ptr)` still holds `size`; else a new one with the old bytes copied and the old freed. `size` 0 frees and returns `ZERO_SIZE_PTR`; `NULL` acts as `kmalloc`.',
    returns: 'a pointer',
    topic: 'kmalloc',
    run(machine, [ptr, sizeArg, gfpArg]) {
      const phys = kmallocPointer(machine, 'krealloc', ptr!);
      if (typeof phys !== 'number') return phys;
      const size = count('krealloc', 'size', sizeArg!, Number.MAX_SAFE_INTEGER);
      if (typeof size !== 'number') return { ...size, code: 'KM4101' };
      const gfp = gfpOf('krealloc', gfpArg!);
      if (typeof gfp !== 'number') return gfp;
      const r = machine.krealloc(phys, size, gfp);
      if (typeof r !== 'number') return r;
      return r === phys && phys > 0 ? ptr! : kmallocValue(machine, r);
    },
  },
  {
    name: 'ksize',
    params: ['ptr'],
    returnsValue: true,
    summary:
      "The usable bytes of a kmalloc object: its cache's object slot (kmalloc-192: 192) or a large kmalloc's whole pages; 0 for NULL and ZERO_SIZE_PTR.",
    doc: "The usable bytes of a kmalloc object: its cache's slot size, or a large kmalloc's whole pages; 0 for `NULL` and `ZERO_SIZE_PTR`.",
    returns: 'a count',
    topic: 'kmalloc',
    run(machine, [ptr]) {
      const phys = kmallocPointer(machine, 'ksize', ptr!);
      if (typeof phys !== 'number') return phys;
      if (phys === 0 || phys === KMALLOC_ZERO) return 0;
      return machine.ksize(phys);
    },
  },
  {
    name: 'kmem_cache_create',
    params: ['name', 'size', 'align', 'flags', 'ctor'],
    stringParams: [0],
    procParams: [4],
    optional: 1,
    returnsValue: true,
    summary:
      'Creates a slab cache (mm/slab_common.c): objects of size bytes laid out by calculate_sizes() (SLAB_HWCACHE_ALIGN aligns to the 64-byte cache line), or merges into a compatible existing cache as 6.12 does (see /proc/slabinfo: an alias adds no line). ctor, optional, names a procedure of one parameter that SLUB calls on every object of each new slab (setup_object), never on allocation: objects come out constructed and must be freed so. Returns the cache handle.',
    doc: 'A slab cache laid out as `calculate_sizes()` does (`SLAB_HWCACHE_ALIGN`, `SLAB_TYPESAFE_BY_RCU`, the debug flags `SLAB_RED_ZONE`, `SLAB_POISON`, `SLAB_STORE_USER`, `SLAB_CONSISTENCY_CHECKS`, `SLAB_TRACE`...), or the compatible existing cache it merges into (`find_mergeable`: then `/proc/slabinfo` gains no line; debug caches never merge). `name` is a string literal. `ctor`, optional, names a procedure of one parameter (`proc init_once(obj) { ... }`, defined before) that SLUB calls on every object of each new slab (`setup_object`), never on allocation: objects come out constructed, and the free pointer moves after the object so a constructed field survives free and reuse. A constructor that fails stops the allocation that made the slab.',
    returns: 'a cache',
    topic: 'slab',
    run(machine, [name, size, align, flags, ctorProc], strings, host) {
      const text = strings[name as number] ?? '?';
      if (typeof size !== 'number' || typeof align !== 'number' || typeof flags !== 'number') {
        return { code: 'KM4230', message: `kmem_cache_create(${text}): size, align and flags must be integers` };
      }
      const ctor =
        typeof ctorProc === 'number'
          ? {
              name: host.procedureName(ctorProc),
              size: 1,
              run: (object: number) => host.callProcedure(ctorProc, [machine.virt(object)]),
            }
          : undefined;
      const r = machine.kmemCacheCreate(text, size, align, flags, ctor);
      if (!('id' in r)) {
        if (flags & SLAB_PANIC) {
          // SLAB_PANIC: kmem_cache_create() panics instead of returning NULL.
          const report = `Kernel panic - not syncing: kmem_cache_create: Failed to create slab '${text}'. Error -22\n`;
          machine.printk(report);
          machine.panic = { code: 'KM4008', message: report.trim(), report };
        }
        return r;
      }
      return r.id;
    },
  },
  {
    name: 'kmem_cache_alloc',
    params: ['cache', 'gfp'],
    returnsValue: true,
    summary: "An object from the cache's per-CPU slab (slab_alloc_node), or NULL.",
    doc: KMEM_CACHE_ALLOC_DOC,
    returns: 'a pointer',
    topic: 'slab',
    run(machine, [handle, gfpArg]) {
      const cache = cacheOf(machine, 'kmem_cache_alloc', handle!);
      if (isFailure(cache)) return cache;
      const gfp = gfpOf('kmem_cache_alloc', gfpArg!);
      if (typeof gfp !== 'number') return gfp;
      return kmallocValue(machine, machine.kmemCacheAlloc(cache, gfp));
    },
  },
  {
    name: 'kmem_cache_zalloc',
    params: ['cache', 'gfp'],
    returnsValue: true,
    summary: 'kmem_cache_alloc(cache, gfp | __GFP_ZERO).',
    doc: KMEM_CACHE_ALLOC_DOC,
    returns: 'a pointer',
    topic: 'slab',
    run(machine, [handle, gfpArg]) {
      const cache = cacheOf(machine, 'kmem_cache_zalloc', handle!);
      if (isFailure(cache)) return cache;
      const gfp = gfpOf('kmem_cache_zalloc', gfpArg!);
      if (typeof gfp !== 'number') return gfp;
      return kmallocValue(machine, machine.kmemCacheAlloc(cache, gfp | __GFP_ZERO));
    },
  },
  {
    name: 'kmem_cache_free',
    params: ['cache', 'ptr'],
    returnsValue: false,
    summary:
      'Frees an object of the cache; an object of another cache WARNs "Wrong slab cache" and goes back where it came from (CONFIG_SLAB_FREELIST_HARDENED).',
    doc: 'Frees an object; one of another cache WARNs `Wrong slab cache` and goes back where it came from.',
    returns: 'nothing',
    topic: 'slab',
    run(machine, [handle, ptr]) {
      const cache = cacheOf(machine, 'kmem_cache_free', handle!);
      if (isFailure(cache)) return cache;
      if (ptr === NULL || ptr === 0) return undefined;
      const phys = physOf(machine, 'kmem_cache_free', ptr!, 'KM4102');
      if (typeof phys !== 'number') return phys;
      return machine.kmemCacheFree(cache, phys);
    },
  },
  {
    name: 'kmem_cache_alloc_bulk',
    params: ['cache', 'gfp', 'n', 'p'],
    returnsValue: true,
    summary:
      'Allocates n objects at once and stores their addresses in the array p (n pointers, 8 bytes each, in memory the scenario allocated); returns n, or 0 with nothing allocated when any object cannot be had (all or nothing, as 6.12). Read them back with read64(p + 8 * i).',
    doc: '`n` objects at once, their addresses stored in the array `p` (`n` pointers of 8 bytes, in memory the scenario allocated: KM4121 otherwise); returns `n`, or 0 with nothing allocated when any object cannot be had (all or nothing, as 6.12).',
    returns: 'a count',
    topic: 'slab',
    run(machine, [handle, gfpArg, nArg, p]) {
      const cache = cacheOf(machine, 'kmem_cache_alloc_bulk', handle!);
      if (isFailure(cache)) return cache;
      const gfp = gfpOf('kmem_cache_alloc_bulk', gfpArg!);
      if (typeof gfp !== 'number') return gfp;
      const n = count('kmem_cache_alloc_bulk', 'n', nArg!, BULK_MAX);
      if (typeof n !== 'number') return n;
      if (n === 0) return 0;
      const array = pointerArray(machine, 'kmem_cache_alloc_bulk', p!, n);
      if (typeof array !== 'number') return array;
      const objects = machine.kmemCacheAllocBulk(cache, gfp, n);
      if (objects.length === 0) return 0;
      const bytes = new Uint8Array(n * 8);
      const view = new DataView(bytes.buffer);
      objects.forEach((phys, i) => view.setBigUint64(i * 8, machine.virt(phys), true));
      machine.writeMemory(array, bytes);
      return objects.length;
    },
  },
  {
    name: 'kmem_cache_free_bulk',
    params: ['cache', 'n', 'p'],
    returnsValue: false,
    summary:
      "Frees the n objects whose addresses are in the array p, gathering those of one slab into a detached freelist freed at once (build_detached_freelist). A bad entry (NULL, a free object, a duplicate, an address that is no object's start) stops the scenario before anything is freed.",
    doc: "Frees the `n` objects whose addresses are in `p`; the objects of one slab are gathered into one detached freelist and freed at once (`build_detached_freelist`), so the next allocation gets `p[0]` back. A bad entry (`NULL`, a free object, a duplicate, an address that is no object's start) stops the scenario before anything is freed.",
    returns: 'nothing',
    topic: 'slab',
    run(machine, [handle, nArg, p]) {
      const cache = cacheOf(machine, 'kmem_cache_free_bulk', handle!);
      if (isFailure(cache)) return cache;
      return freeBulk(machine, 'kmem_cache_free_bulk', cache, nArg!, p!);
    },
  },
  {
    name: 'kfree_bulk',
    params: ['n', 'p'],
    returnsValue: false,
    summary:
      'kmem_cache_free_bulk(NULL, n, p): each object goes back to its own cache, and large kmallocs to the page allocator.',
    doc: '`kmem_cache_free_bulk` without a cache: each object goes back to its own cache, large kmallocs to the page allocator.',
    returns: 'nothing',
    topic: 'slab',
    run: (machine, [nArg, p]) => freeBulk(machine, 'kfree_bulk', undefined, nArg!, p!),
  },
  {
    name: 'validate_slab_cache',
    params: ['cache'],
    returnsValue: true,
    summary:
      "What `echo 1 > /sys/kernel/slab/<cache>/validate` does (mm/slub.c validate_slab_cache): the CPUs' slabs are flushed and every object of the cache's node-partial slabs (and full slabs, with SLAB_STORE_USER) is checked against its debug bytes, free ones as free. Returns the bugs it reported (0 for a cache without slab_debug flags).",
    doc: "What `echo 1 > /sys/kernel/slab/<cache>/validate` does: flushes the CPUs' slabs, walks each slab's freelist (`Freechain corrupt`, `Wrong object count`) and checks every object's debug bytes, free ones as free; returns the bugs it reported (0 for a cache without debug flags). docs/detectors.md lists the kernel's SLUB test shapes it reproduces.",
    returns: 'a count',
    topic: 'slab',
    run(machine, [handle]) {
      const cache = cacheOf(machine, 'validate_slab_cache', handle!);
      if (isFailure(cache)) return cache;
      return machine.slubDebug.validate(cache);
    },
  },
  {
    name: 'kmem_cache_shrink',
    params: ['cache'],
    returnsValue: true,
    summary:
      'Flushes the per-CPU slabs and frees every empty slab of the cache; returns 0 when no slab is left, 1 otherwise (as the kernel does).',
    doc: 'Flushes the per-CPU slabs, frees the empty slabs; returns 0 when no slab is left, 1 otherwise, as the kernel does.',
    returns: '0 or 1',
    topic: 'slab',
    run(machine, [handle]) {
      const cache = cacheOf(machine, 'kmem_cache_shrink', handle!);
      if (isFailure(cache)) return cache;
      return machine.kmemCacheShrink(cache);
    },
  },
  {
    name: 'kmem_cache_destroy',
    params: ['cache'],
    returnsValue: false,
    summary:
      'Drops the cache (an alias only drops its reference). With objects still allocated the kernel WARNs "Slab cache still has objects", unlinks the cache anyway and leaks its slabs; kfree still frees their objects.',
    doc: 'Drops the cache; with objects left the kernel WARNs `Slab cache still has objects`, unlinks it anyway and leaks its slabs (6.12); `kfree` still frees their objects.',
    returns: 'nothing',
    topic: 'slab',
    run(machine, [handle]) {
      const cache = cacheOf(machine, 'kmem_cache_destroy', handle!);
      if (isFailure(cache)) return cache;
      machine.kmemCacheDestroy(cache);
      return undefined;
    },
  },
  {
    name: 'compact_memory',
    params: [],
    returnsValue: true,
    summary:
      'Compacts every zone as writing 1 to /proc/sys/vm/compact_memory does: movable (user) pages migrate toward the end of each zone so free pages gather into large blocks. Returns the pages migrated.',
    doc: 'Compacts every zone (`/proc/sys/vm/compact_memory`): user pages migrate so free pages gather into large blocks; returns the pages migrated.',
    returns: 'a count',
    topic: 'compaction',
    run(machine) {
      let migrated = 0;
      for (const r of compactMachine(machine, -1)) migrated += r.migrated;
      return migrated;
    },
  },
  {
    name: 'drain_all_pages',
    params: [],
    returnsValue: true,
    summary:
      "Empties every CPU's per-CPU page lists into the buddy allocator (drain_all_pages); returns the number of pages moved.",
    doc: "Empties every CPU's per-CPU page lists into the buddy allocator; returns the pages moved.",
    returns: 'a count',
    topic: 'pages',
    run(machine) {
      return machine.drainAllPages();
    },
  },
];

const ZERO_SIZE_PTR = 16n;
const SIZE_MAX = (1n << 64n) - 1n;

/** What kmalloc's result is as a scenario value: the pointer, NULL or ZERO_SIZE_PTR. */
function kmallocValue(machine: Machine, phys: number): Value {
  if (phys === KMALLOC_ZERO) return ZERO_SIZE_PTR;
  return phys >= 0 ? machine.virt(phys) : NULL;
}

/** A pointer argument of the kmalloc family: its physical address, 0 for NULL, KMALLOC_ZERO for ZERO_SIZE_PTR. */
function kmallocPointer(machine: Machine, name: string, ptr: Value): number | CallFailure {
  if (ptr === NULL || ptr === 0) return 0;
  if (ptr === ZERO_SIZE_PTR || ptr === 16) return KMALLOC_ZERO;
  return physOf(machine, name, ptr, 'KM4102');
}

/** kmalloc_array()/kcalloc(): n * size with the overflow check of check_mul_overflow() (size_t, 64 bits). */
function kmallocArray(machine: Machine, name: string, nArg: Value, sizeArg: Value, gfpArg: Value, zero: boolean) {
  const n = typeof nArg === 'bigint' ? nArg : typeof nArg === 'number' && nArg >= 0 ? BigInt(nArg) : undefined;
  const size =
    typeof sizeArg === 'bigint' ? sizeArg : typeof sizeArg === 'number' && sizeArg >= 0 ? BigInt(sizeArg) : undefined;
  if (n === undefined || size === undefined) {
    return { code: 'KM4101', message: `${name}: n and size must be counts from 0 up` };
  }
  const gfp = gfpOf(name, gfpArg);
  if (typeof gfp !== 'number') return gfp;
  // check_mul_overflow(n, size, &bytes): NULL, without trying to allocate.
  if (n * size > SIZE_MAX) return NULL;
  const bytes = n * size;
  const phys =
    bytes > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : machine.kmalloc(Number(bytes), zero ? gfp | __GFP_ZERO : gfp);
  return kmallocValue(machine, phys);
}

/** A cache handle (what kmem_cache_create returned): the live cache, or a failure. */
function cacheOf(machine: Machine, name: string, handle: Value): KmemCache | CallFailure {
  const cache = typeof handle === 'number' ? machine.slub.caches[handle] : undefined;
  if (!cache || cache.destroyed) {
    return {
      code: 'KM4231',
      message: `${name}: ${formatValueImpl(handle)} is no live cache (kmem_cache_create returns one)`,
    };
  }
  return cache;
}

/** kmem_cache_free_bulk()/kfree_bulk(): the n pointers of the array p, read from memory, then freed together. */
function freeBulk(machine: Machine, name: string, cache: KmemCache | undefined, nArg: Value, p: Value) {
  const n = count(name, 'n', nArg, BULK_MAX);
  if (typeof n !== 'number') return n;
  if (n === 0) return undefined;
  const array = pointerArray(machine, name, p, n);
  if (typeof array !== 'number') return array;
  const view = new DataView(machine.readMemory(array, n * 8).buffer);
  const objects: number[] = [];
  for (let i = 0; i < n; i++) {
    const ptr = view.getBigUint64(i * 8, true);
    const phys = machine.phys(ptr);
    if (phys === undefined) {
      const what = ptr === 0n ? 'NULL' : `0x${ptr.toString(16)}, which is not a direct-map address inside memory`;
      return { code: 'KM4003', message: `${name}: p[${i}] is ${what}` };
    }
    objects.push(phys);
  }
  const r = machine.kmemCacheFreeBulk(cache, objects);
  return r ? { code: r.code, message: `${name}: ${r.message}` } : undefined;
}

function isFailure(x: unknown): x is CallFailure {
  return typeof x === 'object' && x !== null && 'code' in x;
}

/** vmalloc()/vzalloc() from a scenario line: the area's caller is that line; failures print the kernel's lines. */
function vmallocCall(machine: Machine, name: string, sizeArg: Value, zero: boolean): Value | CallFailure {
  const size = count(name, 'size', sizeArg, Number.MAX_SAFE_INTEGER);
  if (typeof size !== 'number') return size;
  const gfp = GFP_KERNEL | (zero ? __GFP_ZERO : 0);
  machine.context.mightAlloc(true, '__vmalloc_node_range_noprof'); // vmalloc may sleep: GFP_KERNEL
  const r = machine.vmalloc.vmalloc(size, gfp, { caller: `${name} at line ${machine.line}` });
  if (isVmallocError(r)) {
    for (const l of r.log) {
      machine.printk(
        l.gfp === undefined
          ? `${l.text}\n`
          : `${machine.comm}: ${l.text}, mode:${formatGfpMode(l.gfp)}, nodemask=(null)\n`,
      );
    }
    return NULL;
  }
  machine.kmemleak?.alloc(r.addr, r.requestedSize, 'vmalloc'); // kmemleak_vmalloc()
  return r.addr;
}

/** Every generic builtin: the page allocator's extras above, then the user-process calls. */
export const ALL_GENERIC_BUILTINS: readonly GenericBuiltin[] = [
  ...GENERIC_BUILTINS,
  ...TASK_BUILTINS,
  ...HEAP_BUILTINS,
  ...MEMORY_BUILTINS,
  ...DETECTOR_BUILTINS,
  ...CONTEXT_BUILTINS,
  ...STATS_BUILTINS,
];

export const GENERIC_BUILTIN_IDS: ReadonlyMap<string, number> = new Map(
  ALL_GENERIC_BUILTINS.map((b, i) => [b.name, i]),
);
