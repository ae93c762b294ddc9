/*
 * The emulated machine: physical frames, the buddy allocator, the kmalloc caches, and the event log that
 * records every change. Hosts (the VM, the CLI, tests) call kmalloc/kfree here; views in engine/inspect
 * read the state back.
 *
 * The machine does not throw on user errors: a bad free returns a KfreeError (code and message) and
 * changes nothing. allocPages/freePages give scenarios the page allocator itself (alloc_pages, free_pages);
 * what the kernel would only print (a page allocation failure) goes to `log`. `cpu` and `line` say where the next operation comes from (the VM sets them before each
 * call); events carry both.
 *
 * Boot: the first 1 MiB stays reserved (x86-64 reserves it for the BIOS and real mode); the rest is handed
 * to the buddy allocator in address order as the largest aligned blocks (memblock_free_all), then the
 * kmalloc caches are created with the geometry of the machine's CPU count. No memory is reserved yet for
 * the kernel image or mem_map, and boot-time kernel allocations are not replayed: a fresh machine's caches
 * hold no slabs. Both are later work (page allocator issue). Boot then computes the zone watermarks
 * (watermarks.ts); they are shown, not yet enforced.
 */

import { MachineConfig, MAX_PAGE_ORDER, PAGE_SIZE, getOrder, validateConfig, ConfigError } from './config';
import { FrameTable, NO_PFN, PG_BUDDY, PG_HEAD, PG_RESERVED, PG_SLAB, PG_TAIL } from './frames';
import {
  KMALLOC_CREATION_ORDER,
  KMALLOC_MAX_CACHE_SIZE,
  ZERO_SIZE_PTR,
  kmallocIndex,
  kmallocName,
  kmallocSize,
} from './kmalloc';
import { KmemCache, Slub, slabGeometry } from './slub';
import { PageAllocator, gfpZone } from './page_alloc';
import { __GFP_COMP, __GFP_DMA32, __GFP_HIGHMEM, __GFP_NOWARN } from './gfp';
import { formatBadPage, formatOrderWarning, formatPageAllocFailure } from './page_report';
import { Watermarks, computeWatermarks } from './watermarks';

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

/** free_pages() refused: code, the first line of the report as message, and the whole report. */
export interface FreePagesError extends KfreeError {
  /** The kernel's lines (bad_page() and dump_page()'s reason) and the emulator's "kmem:" line, each ending in \n. */
  readonly report?: string;
}

/** alloc_pages() returned NULL. */
export const PAGES_FAILED = KMALLOC_FAILED;
/** Machine.log keeps this many messages; later ones are counted in logDropped. */
export const LOG_LIMIT = 1000;

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
  /** Blocks handed out by allocPages (alloc_pages, __get_free_pages): head pfn -> order. */
  readonly pageAllocations = new Map<number, number>();
  /**
   * The kernel log of this machine: warnings the allocators print (a page allocation failure, the
   * order > MAX_PAGE_ORDER warning), one message per entry, each ending in a newline. Hosts print what was
   * appended (the CLI to stderr, the debug adapter to the debug console). At most LOG_LIMIT are kept.
   */
  readonly log: string[] = [];
  /** Messages not kept because the log was full. */
  logDropped = 0;
  /** current->comm: the name in the kernel's reports. The machine has no tasks yet; everything runs as 'kmem'. */
  comm = 'kmem';
  /** The CPU and scenario line the next operation runs on behalf of. */
  cpu = 0;
  line = 0;
  /**
   * Zone watermarks (min/low/high/promo), lowmem_reserve[] and totalreserve_pages, computed once at boot
   * from the zones' managed pages as init_per_zone_wmark_min() does (watermarks.ts). Shown in
   * /proc/zoneinfo and used by MemAvailable; the allocator does not enforce them yet (later work).
   */
  watermarks: Watermarks = computeWatermarks([]);
  /** WARN_ON_ONCE fired for order > MAX_PAGE_ORDER. */
  private warnedOrder = false;

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
    // init_per_zone_wmark_min() (a postcore_initcall) runs once memblock has freed memory to the zones.
    m.watermarks = computeWatermarks(m.buddy.zones.map((z) => z.managedPages));
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

  /**
   * alloc_pages(gfp, order): the physical address of the first of 2^order frames, or PAGES_FAILED (NULL).
   * The block is compound (head and tail pages) only with __GFP_COMP; __GFP_ZERO is accepted (contents are
   * not modelled). The zone is the highest gfp_zone(gfp) allows, falling back down the zonelist.
   *
   * Order above MAX_PAGE_ORDER: __alloc_pages_noprof() returns NULL after WARN_ON_ONCE_GFP (once per boot,
   * silent with __GFP_NOWARN). No free block in any allowed zone: NULL, and warn_alloc()'s report in the log
   * unless __GFP_NOWARN. Both record a PageAllocFail event; success records PageAlloc.
   */
  allocPages(order: number, gfp: number): number {
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
      if (!this.warnedOrder && !(gfp & __GFP_NOWARN)) {
        this.warnedOrder = true;
        this.printk(formatOrderWarning(this.cpu, order, MAX_PAGE_ORDER));
      }
      this.record(EventKind.PageAllocFail, -1, 0, gfp >>> 0, Math.min(Math.max(order, 0), 0xffffffff));
      return PAGES_FAILED;
    }
    const pfn = this.buddy.allocPages(order, (gfp & __GFP_COMP) !== 0, gfp);
    if (pfn === NO_PFN) {
      if (!(gfp & __GFP_NOWARN)) {
        this.printk(
          formatPageAllocFailure({
            comm: this.comm,
            order,
            gfp,
            zones: this.buddy.populatedZones().map((z) => ({
              name: z.name,
              index: this.buddy.zones.indexOf(z),
              nrFree: Array.from(z.nrFree),
            })),
            maxZoneIndex: gfpZone(gfp),
          }),
        );
      }
      this.record(EventKind.PageAllocFail, -1, 0, gfp >>> 0, order);
      return PAGES_FAILED;
    }
    this.pageAllocations.set(pfn, order);
    this.record(EventKind.PageAlloc, -1, pfn, 0, order);
    return pfn * PAGE_SIZE;
  }

  /**
   * free_pages(addr, order) on the page holding phys: undefined when the 2^order frames went back to the
   * buddy allocator (a PageFree event), or the "Bad page state" report and nothing changed.
   *
   * A debug kernel (CONFIG_DEBUG_VM) catches these mistakes; the report says what its dump_page() would:
   *   - a page that is already free, a tail page of a compound block, a page other than the first of a
   *     non-compound block: its refcount is 0, so put_page_testzero() in __free_pages() trips
   *     VM_BUG_ON_PAGE(page_ref_count(page) == 0);
   *   - a compound block freed with another order: free_pages_prepare()'s
   *     VM_BUG_ON_PAGE(compound && compound_order(page) != order);
   *   - a reserved page: PG_reserved is in PAGE_FLAGS_CHECK_AT_FREE, so free_page_is_bad() reports
   *     "PAGE_FLAGS_CHECK_AT_FREE flag(s) set" (page_bad_reason());
   *   - the first page of a slab: PG_slab is a page type kept in the _mapcount word since 6.10, so
   *     page_bad_reason() says "nonzero mapcount".
   * A non-compound block freed with another order has no kernel check at all (too small leaks the rest,
   * too large frees pages someone else owns): the emulator refuses it all the same, with no reason line.
   * The debug kernel would BUG() on a VM_BUG_ON_PAGE instead of printing "Bad page state"; the emulator uses
   * the one report form for every refused free. A large kmalloc's pages are a plain compound block in 6.12
   * and free_pages() of them with their order is accepted, as the kernel does.
   */
  freePages(phys: number, order: number): FreePagesError | undefined {
    const pfn = Math.floor(phys / PAGE_SIZE);
    if (!Number.isInteger(phys) || pfn < 0 || pfn >= this.frames.count) {
      return { code: 'KM4006', message: `free_pages of an address outside memory` };
    }
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
      return { code: 'KM4107', message: `free_pages order must be 0..${MAX_PAGE_ORDER}, not ${order}` };
    }
    const bad = this.checkFreePages(pfn, order);
    if (bad) {
      const report = formatBadPage({ comm: this.comm, pfn, reason: bad.reason, note: bad.note });
      return { code: 'KM4005', message: report.slice(0, report.indexOf('\n')), report };
    }
    const refused = this.buddy.freePages(pfn, order);
    if (refused) {
      throw new Error(`machine: the buddy allocator refused a free the checks passed (${refused})`);
    }
    this.pageAllocations.delete(pfn);
    this.largeKmalloc.delete(pfn);
    this.record(EventKind.PageFree, -1, pfn, 0, order);
    return undefined;
  }

  /** The allocation (head pfn and order) a non-free frame belongs to, from its flags and head orders. */
  private ownerOf(pfn: number): { head: number; order: number } | undefined {
    const { flags, order: orders, refcount } = this.frames;
    for (let o = 0; o <= MAX_PAGE_ORDER; o++) {
      const head = pfn & ~((1 << o) - 1);
      if (refcount[head] === 1 && !(flags[head]! & (PG_TAIL | PG_BUDDY)) && orders[head]! >= o) {
        if (pfn < head + (1 << orders[head]!)) return { head, order: orders[head]! };
      }
    }
    return undefined;
  }

  private checkFreePages(pfn: number, order: number): { reason?: string; note: string } | undefined {
    const refZero = 'VM_BUG_ON_PAGE(page_ref_count(page) == 0)';
    const hex = (n: number) => `0x${n.toString(16)}`;
    const flags = this.frames.flags[pfn]!;
    if (flags & PG_RESERVED) {
      return {
        reason: 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set',
        note: `pfn ${hex(pfn)} is reserved (PG_reserved): the page allocator never handed it out`,
      };
    }
    const free = this.buddy.findFreeBlock(pfn);
    if (free) {
      return {
        reason: refZero,
        note: `pfn ${hex(pfn)} is already free (in the order-${free.order} free block at pfn ${hex(free.pfn)}): double free`,
      };
    }
    const owner = this.ownerOf(pfn);
    if (owner && owner.head !== pfn) {
      const compound = (this.frames.flags[owner.head]! & PG_HEAD) !== 0;
      return {
        reason: refZero,
        note: compound
          ? `pfn ${hex(pfn)} is a tail page of the order-${owner.order} compound block at pfn ${hex(owner.head)}: free it through its head`
          : `pfn ${hex(pfn)} is inside the order-${owner.order} block at pfn ${hex(owner.head)}, not its first page`,
      };
    }
    if (!owner) {
      // Not free, not reserved, no allocation covers it: cannot happen while the frame invariants hold.
      throw new Error(`machine: pfn ${pfn} is neither free nor part of an allocation`);
    }
    if (flags & PG_SLAB) {
      const cache = this.slub.cacheOf(pfn * PAGE_SIZE);
      return {
        reason: 'nonzero mapcount',
        note: `pfn ${hex(pfn)} is a slab of ${cache?.name ?? 'a slab cache'}: its objects go back with kfree`,
      };
    }
    if (owner.order !== order) {
      const compound = (flags & PG_HEAD) !== 0;
      return {
        reason: compound ? 'VM_BUG_ON_PAGE(compound && compound_order(page) != order)' : undefined,
        note: `free_pages with order ${order} of the order-${owner.order} block at pfn ${hex(pfn)}: wrong order`,
      };
    }
    return undefined;
  }

  private printk(text: string): void {
    if (this.log.length < LOG_LIMIT) {
      this.log.push(text);
    } else {
      this.logDropped++;
    }
  }

  private record(kind: EventKind, cache: number, addr: number, size: number, extra: number): void {
    this.events.push(kind, this.cpu, this.line, cache, addr, size, extra);
  }
}

export { ZERO_SIZE_PTR };
