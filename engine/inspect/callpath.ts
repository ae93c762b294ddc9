/*
 * The allocator's own call stack at an allocation event: which kernel functions were running when the event
 * happened, innermost first, as a debugger shows frames. Built from the event alone (plus its neighbours in
 * the log), so it works for any event in the history, forward or backward in time.
 *
 * SlabNew, SlabMove and SlabDiscard events carry the SlabPath that caused them (slub.ts SLAB_PATH_FRAMES).
 * Paths that end inside slab_alloc_node() or slab_free() are completed by the API call that entered SLUB:
 * for an allocation, the first Kmalloc or KmallocFail event after it (trace_kmalloc fires once the object is
 * found); for a free, the latest Kfree before it (trace_kfree is kfree's first statement). Whether that call
 * was kmalloc() or kmem_cache_alloc() follows from the cache: only kmalloc caches carry SLAB_KMALLOC, and no
 * kmem_cache_create() cache merges into one. Kmalloc and Kfree events show the function that fires their
 * tracepoint. The searches are bounded, so a corrupted or truncated log gives a shorter stack, never a hang.
 *
 * Function names are those of mm/slub.c and mm/slab_common.c in Linux 6.12; inline functions are listed too,
 * since stepping through SLUB is about its logic, not its inlining.
 */

import { Machine } from '../mm/machine';
import { SLAB_KMALLOC, SLAB_PATH_FRAMES, SlabPath, slabPathSide } from '../mm/slub';
import { EventKind, KmemEvent } from '../trace/events';

export interface KernelFrame {
  /** The kernel function. */
  readonly name: string;
  /** Its source file in the kernel tree. */
  readonly file: string;
}

/** How far to look for the API event that completes a path (events of one call are adjacent). */
const SEARCH_LIMIT = 4096;

const SLAB_COMMON = new Set([
  'kfree',
  '__kmalloc_noprof',
  '__do_kmalloc_node',
  'kmem_cache_destroy',
  'shutdown_cache',
  'kmem_cache_shrink',
]);
const PAGE_ALLOC = new Set(['__alloc_pages_noprof', '__free_pages']);

function frame(name: string): KernelFrame {
  const file = SLAB_COMMON.has(name) ? 'mm/slab_common.c' : PAGE_ALLOC.has(name) ? 'mm/page_alloc.c' : 'mm/slub.c';
  return { name, file };
}

/** The kernel frames of event seq, innermost first; empty for events SLUB and kmalloc did not cause. */
export function allocatorFrames(machine: Machine, seq: number): KernelFrame[] {
  const events = machine.events;
  if (!Number.isInteger(seq) || seq < 0 || seq >= events.length) return [];
  const e = events.get(seq);
  switch (e.kind) {
    case EventKind.Kmalloc:
    case EventKind.KmallocFail:
      return allocEntry(machine, e, true).map(frame);
    case EventKind.Kfree:
      return freeEntry(machine, e).map(frame);
    case EventKind.SlabNew:
    case EventKind.SlabMove:
    case EventKind.SlabDiscard: {
      const path = e.size as SlabPath;
      const inner = SLAB_PATH_FRAMES[path];
      if (!inner) return [];
      const names = e.kind === EventKind.SlabDiscard ? ['discard_slab', ...inner] : [...inner];
      const side = slabPathSide(path);
      if (side === 'alloc') names.push(...completeAlloc(machine, seq));
      else if (side === 'free') names.push(...completeFree(machine, seq));
      return names.map(frame);
    }
    default:
      return [];
  }
}

/** The frames above slab_alloc_node() for the allocation an inner event belongs to. */
function completeAlloc(machine: Machine, seq: number): string[] {
  const events = machine.events;
  const end = Math.min(events.length, seq + SEARCH_LIMIT);
  for (let s = seq + 1; s < end; s++) {
    const kind = events.kindAt(s);
    if (kind === EventKind.Kmalloc || kind === EventKind.KmallocFail) return allocEntry(machine, events.get(s), false);
    if (kind === EventKind.Kfree) break; // another call began
  }
  return [];
}

/** The frames above slab_free() for the free an inner event belongs to. */
function completeFree(machine: Machine, seq: number): string[] {
  const events = machine.events;
  const start = Math.max(0, seq - SEARCH_LIMIT);
  for (let s = seq - 1; s >= start; s--) {
    const kind = events.kindAt(s);
    if (kind === EventKind.Kfree) return freeEntry(machine, events.get(s));
    if (kind === EventKind.Kmalloc || kind === EventKind.KmallocFail) break;
  }
  return [];
}

/**
 * kmalloc(): __kmalloc_noprof() -> __do_kmalloc_node() -> slab_alloc_node(), trace_kmalloc() in
 * __do_kmalloc_node(); a large kmalloc goes to __kmalloc_large_node_noprof() and the page allocator.
 * kmem_cache_alloc(): kmem_cache_alloc_noprof() -> slab_alloc_node(), trace_kmem_cache_alloc() there.
 */
function allocEntry(machine: Machine, e: KmemEvent, atTracepoint: boolean): string[] {
  const cache = e.cache >= 0 ? machine.slub.caches[e.cache] : undefined;
  if (!cache) {
    return atTracepoint ? ['__kmalloc_large_node_noprof', '__do_kmalloc_node', '__kmalloc_noprof'] : [];
  }
  if (cache.flags & SLAB_KMALLOC) return ['__do_kmalloc_node', '__kmalloc_noprof'];
  return ['kmem_cache_alloc_noprof'];
}

/**
 * kfree() (trace_kfree first, then slab_free or free_large_kmalloc) or kmem_cache_free(). The log does not
 * say which a scenario called for an object of a kmem_cache_create() cache (both are valid since 6.4): the
 * stack names the one that matches the cache.
 */
function freeEntry(machine: Machine, e: KmemEvent): string[] {
  const cache = e.cache >= 0 ? machine.slub.caches[e.cache] : undefined;
  if (!cache || cache.flags & SLAB_KMALLOC) return ['kfree'];
  return ['kmem_cache_free'];
}
