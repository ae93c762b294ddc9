/*
 * The emulated machine: physical frames, the buddy allocator, the kmalloc caches, and the event log that
 * records every change. Hosts (the VM, the CLI, tests) call kmalloc/kfree here; views in engine/inspect
 * read the state back.
 *
 * The machine does not throw on user errors: a bad free returns a KfreeError (code and message) and
 * changes nothing. `cpu` and `line` say where the next operation comes from (the VM sets them before each
 * call); events carry both.
 *
 * Boot: the first 1 MiB stays reserved (x86-64 reserves it for the BIOS and real mode); the rest is handed
 * to the buddy allocator in address order as the largest aligned blocks (memblock_free_all), then the
 * kmalloc caches are created with the geometry of the machine's CPU count. No memory is reserved yet for
 * the kernel image or mem_map, and boot-time kernel allocations are not replayed: a fresh machine's caches
 * hold no slabs. Both are later work (page allocator issue).
 */

import { MachineConfig, MAX_PAGE_ORDER, PAGE_SIZE, getOrder, validateConfig, ConfigError } from './config';
import { FrameTable, NO_PFN, PG_HEAD, PG_RESERVED, PG_SLAB, PG_TAIL } from './frames';
import {
  KMALLOC_CREATION_ORDER,
  KMALLOC_MAX_CACHE_SIZE,
  ZERO_SIZE_PTR,
  kmallocIndex,
  kmallocName,
  kmallocSize,
} from './kmalloc';
import { KmemCache, Slub, slabGeometry } from './slub';
import { PageAllocator } from './page_alloc';
import { __GFP_DMA32, __GFP_HIGHMEM } from './gfp';

/** mm/slab.h GFP_SLAB_BUG_MASK: zone modifiers kmalloc refuses (the bits above __GFP_BITS_MASK too). */
const GFP_SLAB_BUG_MASK = __GFP_DMA32 | __GFP_HIGHMEM;
import { EventKind, EventLog } from '../trace/events';

/** KMALLOC_MAX_SIZE: the largest kmalloc, one block of MAX_PAGE_ORDER (4 MiB). */
export const KMALLOC_MAX_SIZE = PAGE_SIZE << MAX_PAGE_ORDER;
/** x86-64 reserves the first 1 MiB of RAM (arch/x86/kernel/setup.c, since 5.13). */
export const RESERVED_LOW_BYTES = 1024 * 1024;

/** kmalloc returned nothing (NULL). */
export const KMALLOC_FAILED = -1;
/** kmalloc(0): the caller gets ZERO_SIZE_PTR, which is not a direct-map address. */
export const KMALLOC_ZERO = -2;

export interface KfreeError {
  readonly code: string;
  readonly message: string;
}

export class Machine {
  readonly config: MachineConfig;
  readonly frames: FrameTable;
  /** The page allocator: one buddy allocator per zone (DMA, DMA32, Normal). */
  readonly buddy: PageAllocator;
  readonly slub: Slub;
  readonly events = new EventLog();
  /** kmalloc caches by kmalloc_info index (1..13). */
  readonly kmallocCaches: KmemCache[] = [];
  /** Large kmalloc allocations: head pfn -> bytes asked. */
  readonly largeKmalloc = new Map<number, number>();
  /** The CPU and scenario line the next operation runs on behalf of. */
  cpu = 0;
  line = 0;

  private constructor(config: MachineConfig) {
    this.config = config;
    const nrFrames = config.memoryBytes / PAGE_SIZE;
    this.frames = new FrameTable(nrFrames);
    this.buddy = new PageAllocator(this.frames);
    this.slub = new Slub(this.frames, this.buddy, {
      slabNew: (cache, pfn) => {
        this.record(EventKind.PageAlloc, -1, pfn, 0, cache.geometry.order);
        this.record(EventKind.SlabNew, cache.id, pfn, 0, cache.geometry.order);
      },
      slabDiscard: (cache, pfn) => {
        this.record(EventKind.SlabDiscard, cache.id, pfn, 0, cache.geometry.order);
        this.record(EventKind.PageFree, -1, pfn, 0, cache.geometry.order);
      },
    });
  }

  /** Boots a machine, or returns what is wrong with the configuration. */
  static boot(config: MachineConfig): Machine | ConfigError[] {
    const errors = validateConfig(config);
    if (errors.length > 0) {
      return errors;
    }
    const m = new Machine(config);
    const reserved = RESERVED_LOW_BYTES / PAGE_SIZE;
    m.frames.flags.fill(PG_RESERVED, 0, reserved);
    m.buddy.freeRangeAtBoot(reserved, m.frames.count);
    for (const index of KMALLOC_CREATION_ORDER) {
      const geometry = slabGeometry(kmallocSize(index), 8, config.cpus);
      m.kmallocCaches[index] = m.slub.createCache(kmallocName(index), geometry, config.cpus);
    }
    return m;
  }

  /** The kmalloc cache a request of `size` bytes is served from, or undefined above 8 KiB or for 0. */
  kmallocCacheFor(size: number): KmemCache | undefined {
    if (size <= 0 || size > KMALLOC_MAX_CACHE_SIZE) {
      return undefined;
    }
    return this.kmallocCaches[kmallocIndex(size)];
  }

  /**
   * kmalloc(size, gfp): the physical address of the object, KMALLOC_ZERO for size 0, or KMALLOC_FAILED.
   * Large kmallocs honour __GFP_DMA (zone DMA); slabs come from the highest zone, as dma-kmalloc caches
   * and reclaim are later work.
   */
  kmalloc(size: number, gfp: number): number {
    if (size === 0) {
      return KMALLOC_ZERO;
    }
    if (!Number.isInteger(size) || size < 0 || size > KMALLOC_MAX_SIZE) {
      // kmalloc_large() refuses what the page allocator cannot hold (above MAX_PAGE_ORDER).
      this.record(EventKind.KmallocFail, -1, 0, size >>> 0, 0);
      return KMALLOC_FAILED;
    }
    if (size <= KMALLOC_MAX_CACHE_SIZE) {
      const cache = this.kmallocCaches[kmallocIndex(size)]!;
      const phys = this.slub.alloc(cache, this.cpu);
      if (phys < 0) {
        this.record(EventKind.KmallocFail, cache.id, 0, size, 0);
        return KMALLOC_FAILED;
      }
      this.record(EventKind.Kmalloc, cache.id, phys, size, cache.geometry.size);
      return phys;
    }
    return this.kmallocLarge(size, gfp);
  }

  /** kfree(phys); `ptr` values 0 (NULL) and ZERO_SIZE_PTR are accepted and ignored by the caller. */
  kfree(phys: number): KfreeError | undefined {
    const pfn = Math.floor(phys / PAGE_SIZE);
    if (!Number.isInteger(phys) || pfn < 0 || pfn >= this.frames.count) {
      return { code: 'KM4001', message: `kfree of an address outside memory` };
    }
    const flags = this.frames.flags[pfn]!;
    if (flags & PG_SLAB) {
      const cache = this.slub.cacheOf(phys)!;
      const obj = this.slub.lookupObject(phys);
      if (typeof obj === 'string') {
        return {
          code: obj === 'double free' ? 'KM4002' : 'KM4003',
          message:
            obj === 'double free'
              ? `double free of an object of ${cache.name}`
              : `kfree of an address inside an object of ${cache.name}, not its start`,
        };
      }
      // trace_kfree() fires first in kfree(), before slab_free() may discard the slab.
      this.record(EventKind.Kfree, cache.id, phys, 0, cache.geometry.size);
      this.slub.freeObject(obj, this.cpu);
      return undefined;
    }
    const asked = this.largeKmalloc.get(pfn);
    if (asked !== undefined && phys % PAGE_SIZE === 0) {
      const order = getOrder(asked);
      // trace_kfree() fires first, then free_large_kmalloc() gives the pages back.
      this.record(EventKind.Kfree, -1, phys, 0, PAGE_SIZE << order);
      this.largeKmalloc.delete(pfn);
      this.buddy.freePages(pfn, order);
      this.record(EventKind.PageFree, -1, pfn, 0, order);
      return undefined;
    }
    if (flags & (PG_HEAD | PG_TAIL) || this.buddy.findFreeBlock(pfn) === undefined) {
      return { code: 'KM4003', message: `kfree of an address kmalloc did not return` };
    }
    return { code: 'KM4002', message: `kfree of free memory (double free of a large kmalloc?)` };
  }

  /** kmalloc_large(): 2^get_order(size) pages, compound, straight from the buddy allocator. */
  private kmallocLarge(size: number, gfp: number): number {
    const order = getOrder(size);
    // kmalloc_fix_flags(): GFP_SLAB_BUG_MASK (__GFP_DMA32, __GFP_HIGHMEM) is dropped with an "Unexpected gfp" warning.
    const pfn = this.buddy.allocPages(order, true, gfp & ~GFP_SLAB_BUG_MASK);
    if (pfn === NO_PFN) {
      this.record(EventKind.KmallocFail, -1, 0, size, order);
      return KMALLOC_FAILED;
    }
    this.largeKmalloc.set(pfn, size);
    this.record(EventKind.PageAlloc, -1, pfn, 0, order);
    const phys = pfn * PAGE_SIZE;
    this.record(EventKind.Kmalloc, -1, phys, size, PAGE_SIZE << order);
    return phys;
  }

  private record(kind: EventKind, cache: number, addr: number, size: number, extra: number): void {
    this.events.push(kind, this.cpu, this.line, cache, addr, size, extra);
  }
}

export { ZERO_SIZE_PTR };
