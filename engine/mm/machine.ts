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
 * Boot (memblock, then memblock_free_all): reserved ranges first (boot.ts: the first 1 MiB on x86-64, the
 * firmware on RISC-V, the kernel image, the memmap of 64 bytes per frame at the top of RAM), then the rest
 * goes to the buddy allocator in address order as the largest aligned blocks. init_per_zone_wmark_min()
 * then sets the zone watermarks and lowmem reserves (watermarks.ts) and the per-CPU lists' batch and high;
 * finally the kmalloc caches are created with the geometry of the machine's CPU count. Boot-time kernel
 * allocations are not replayed: a fresh machine's caches hold no slabs.
 *
 * Allocation failures follow the kernel (page_alloc.ts): NULL with a warning, or the OOM killer. With no
 * user task to kill the kernel panics ("System is deadlocked on memory"); the machine then sets `panic`
 * and refuses nothing else, and hosts stop the scenario with it.
 */

import { MachineConfig, MAX_PAGE_ORDER, PAGE_SIZE, getOrder, validateConfig, ConfigError } from './config';
import { PAGE_KERNEL, PAGE_KERNEL_ROX, PageSize, PageTable, SZ_1G, SZ_2M, SZ_4K } from './pgtable';
import { VmallocSpace } from './vmalloc';
import { ModuleLoader } from './module';
import { TaskTable } from './process';
import type { Heap } from '../heap/region';
import { compactionHook } from './compaction';
import { FrameTable, NO_PFN, PG_ANON, PG_BUDDY, PG_HEAD, PG_PGTABLE, PG_RESERVED, PG_SLAB, PG_TAIL } from './frames';
import { ArchSpec, archSpec } from './arch';
import { PhysMem } from './physmem';
import { ReservedRange, bootReservations } from './boot';
import { MIGRATE_TYPES } from './buddy';
import {
  KMALLOC_CREATION_ORDER,
  KMALLOC_MAX_CACHE_SIZE,
  ZERO_SIZE_PTR,
  kmallocIndex,
  kmallocName,
  kmallocSize,
  kmallocType,
  kmallocTypes,
} from './kmalloc';
import {
  KmemCache,
  SLAB_ACCOUNT,
  SLAB_CACHE_DMA32,
  SLAB_HWCACHE_ALIGN,
  SLAB_MERGE_SAME,
  SLAB_NEVER_MERGE,
  SLAB_TYPESAFE_BY_RCU,
  calculateAlignment,
  SLAB_CACHE_DMA,
  SLAB_KMALLOC,
  SLAB_NO_MERGE,
  SLAB_RECLAIM_ACCOUNT,
  NO_SLAB,
  Slab,
  SlabCtor,
  SlabPath,
  Slub,
  isAllocated,
  OBJ_ALLOCATED,
  OBJECT_DOUBLE_FREE,
  FP_CORRUPT,
  FREE_END,
  SLAB_CONSISTENCY_CHECKS,
  SLAB_DEBUG_FLAGS,
  SLAB_POISON,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SlabGeometry,
  geometryOf,
  slabGeometry,
} from './slub';
import { SlabDebugConfig, kmallocAlign, kmemCacheDebugLayout, parseSlabDebug, slabDebugFlags } from './slub_debug';
import { SlubDebugger } from './slub_checks';
import { KasanBug, KasanRuntime } from './kasan_checks';
import { KmemleakTracker } from './kmemleak_checks';
import { KfenceRuntime, kfencePoolPfn } from './kfence_checks';
import { ExecContext, MightSleepKind } from './context';
import { KFENCE_POOL_SIZE } from './kfence';
import {
  cacheRandom,
  decodeFreePointer,
  encodeFreePointer,
  FreePointerContext,
  freePointerWord,
  overlayFreePointers,
} from './freeptr';
import { PageAllocator, gfpZone } from './page_alloc';
import {
  GFP_KERNEL,
  __GFP_COMP,
  __GFP_DIRECT_RECLAIM,
  __GFP_DMA,
  __GFP_RECLAIMABLE,
  __GFP_DMA32,
  __GFP_HIGHMEM,
  __GFP_NOWARN,
  __GFP_ZERO,
} from './gfp';
import { formatGfpMode as formatGfpFlagsHex } from './page_report';
import { formatBadPage, formatOom, formatOrderWarning, formatPageAllocFailure } from './page_report';
import { Watermarks, computeWatermarks } from './watermarks';

/** mm/slab.h GFP_SLAB_BUG_MASK: zone modifiers kmalloc refuses (the bits above __GFP_BITS_MASK too). */
const GFP_SLAB_BUG_MASK = __GFP_DMA32 | __GFP_HIGHMEM;
import { EventKind, EventLog, LINE_FILE_UNIT } from '../trace/events';

/**
 * new_kmalloc_cache() flags per KmallocType: KMALLOC_NORMAL gets SLAB_NO_MERGE with CONFIG_MEMCG,
 * KMALLOC_RECLAIM SLAB_RECLAIM_ACCOUNT, KMALLOC_DMA SLAB_CACHE_DMA, KMALLOC_CGROUP SLAB_ACCOUNT.
 */
const KMALLOC_TYPE_FLAGS: readonly number[] = [SLAB_NO_MERGE, SLAB_RECLAIM_ACCOUNT, SLAB_CACHE_DMA, SLAB_ACCOUNT];
/** s->allocflags those flags imply (calculate_sizes): __GFP_RECLAIMABLE for reclaimable, __GFP_DMA for DMA. */
const KMALLOC_TYPE_GFP: readonly number[] = [0, 0x10, 0x01, 0];

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

/** The kernel panicked: the scenario cannot go on. */
export interface KernelPanic {
  readonly code: string;
  readonly message: string;
  readonly report: string;
}

/** A non-zero xorshift state from any 32-bit seed (splitmix32's finaliser spreads small seeds). */
function seedState(seed: number): number {
  let z = (seed + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  return z || 0x9e3779b9;
}

/** INITIAL_JIFFIES on 64-bit at HZ=1000: (unsigned long)(unsigned int)(-300 * HZ). */
export const INITIAL_JIFFIES = 2 ** 32 - 300 * 1000;

/** Lines of scenario output a machine keeps (print); more are counted, not kept. */
const OUTPUT_MAX = 100_000;

export class Machine {
  readonly config: MachineConfig;
  readonly arch: ArchSpec;
  readonly frames: FrameTable;
  /** The bytes of physical memory (sparse). SLUB free pointers are not in it: read through readMemory(). */
  readonly mem = new PhysMem();
  /** SLUB debugging of the caches slab_debug= names (slub_checks.ts); its reports go to the log. */
  readonly slubDebug: SlubDebugger = new SlubDebugger(this);
  /** The parsed slab_debug= option, or undefined when the machine boots without one. */
  slabDebugConfig: SlabDebugConfig | undefined;
  /** Generic KASAN (kasan_checks.ts) when the machine was configured with it. */
  readonly kasan: KasanRuntime | undefined;
  /** kmemleak (kmemleak_checks.ts) when the machine was configured with it. */
  readonly kmemleak: KmemleakTracker | undefined;
  /** KFENCE (kfence_checks.ts) when the machine was configured with a sample interval; set at boot. */
  kfence: KfenceRuntime | undefined;
  /** The context kernel code runs in (preempt count, interrupts, RCU, spin locks) and its checks (context.ts). */
  readonly context: ExecContext;
  /** might_sleep reports printed (sleeping in atomic context, scheduling while atomic). */
  mightSleepReports = 0;
  /**
   * The machine's clock in milliseconds since boot: time passes only when the scenario sleeps (msleep), so
   * runs stay deterministic. jiffies counts it at HZ=1000 from INITIAL_JIFFIES, as the kernel does.
   */
  uptimeMs = 0;
  /** s->random per cache id, made on first use (CONFIG_SLAB_FREELIST_HARDENED). */
  private readonly cacheRandoms = new Map<number, bigint>();
  /** How SLUB free pointers appear in memory on this machine (freeptr.ts). */
  readonly freePointers: FreePointerContext = {
    physToVirt: (phys) => this.virt(phys),
    randomOf: (cache) => {
      if (this.config.hardenedFreelist === false) return undefined;
      let random = this.cacheRandoms.get(cache.id);
      if (random === undefined) {
        random = cacheRandom(cache.id);
        this.cacheRandoms.set(cache.id, random);
      }
      return random;
    },
  };
  /** Ranges memblock kept from the buddy allocator at boot, lowest first. */
  reserved: readonly ReservedRange[] = [];
  /** Set when the kernel panicked (OOM with nothing to kill); every later step should stop. */
  panic: KernelPanic | undefined;
  /** init_mm's page table: the direct map and the kernel image at boot, vmalloc mappings later. */
  kernelPt!: PageTable;
  /** The vmalloc area allocator (vmap areas, guard pages, pages mapped into kernelPt). */
  vmalloc!: VmallocSpace;
  /** Loadable modules in the module mapping space (module.ts). */
  modules!: ModuleLoader;
  /** Page-table pages allocated after boot (NR_PAGETABLE, meminfo's PageTables). */
  pageTablePages = 0;
  /** Real-time heaps the scenario set up (engine/heap), by handle; their bytes are their own regions. */
  readonly heaps: Heap[] = [];
  /** User tasks, their address spaces and the anon reverse map (process.ts). */
  tasks!: TaskTable;
  /** Where early (memblock) page-table pages come from at boot: the next frame down, NO_PFN after boot. */
  private earlyPtNext = NO_PFN;
  private earlyPtLow = NO_PFN;
  /** The page allocator: one buddy allocator per zone (DMA, DMA32, Normal). */
  readonly buddy: PageAllocator;
  readonly slub: Slub;
  readonly events = new EventLog();
  /** kmalloc caches by type (KmallocType) and kmalloc_info index (1..13). */
  readonly kmallocCaches: KmemCache[][] = [];
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
  /**
   * current: the task the scenario's statements run as, named in the kernel's reports (comm, pid). The
   * scenario itself is pid 1, 'kmem', until switch_to(pid) makes a spawned task current (back to 1 when
   * that task exits).
   */
  comm = 'kmem';
  pid = 1;

  /** context_switch() to `task` (undefined: back to the scenario's own pid 1). */
  switchTo(task: { readonly pid: number; readonly comm: string } | undefined): void {
    this.pid = task?.pid ?? 1;
    this.comm = task?.comm ?? 'kmem';
  }
  /** The CPU and scenario line the next operation runs on behalf of. */
  cpu = 0;
  line = 0;
  /** The file of that line (an index into sourceFiles; 0: the scenario's own), set with line by the VM. */
  file = 0;
  /** The scenario's files (Program.files), to name an event's file in reports. */
  sourceFiles: readonly string[] = [];

  /** What an event records as its line: the 1-based line, and the file above bit 24 (EventLog.get splits them). */
  get eventLine(): number {
    return this.line + this.file * LINE_FILE_UNIT;
  }
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
    this.arch = archSpec(config.arch ?? 'x86_64');
    this.kasan = config.kasan ? new KasanRuntime(this, config.kasanMultiShot ?? false) : undefined;
    this.kmemleak = config.kmemleak ? new KmemleakTracker(this) : undefined;
    this.context = new ExecContext({
      printk: (text) => this.printk(text),
      now: () => ({
        jiffies: this.jiffies,
        cpu: this.cpu,
        line: this.line,
        comm: this.comm,
        pid: this.pid,
        taint: this.slubDebug.taint,
      }),
      report: (kind: MightSleepKind) => {
        this.mightSleepReports++;
        this.recordReport(EventKind.MightSleep, -1, 0, kind);
      },
    });
    const firstPfn = this.arch.physBase / PAGE_SIZE;
    this.frames = new FrameTable(firstPfn + config.memoryBytes / PAGE_SIZE);
    this.buddy = new PageAllocator(this.frames, firstPfn, this.arch.hasZoneDma, config.cpus);
    const slabPages = {
      allocSlabPages: (order: number, gfp: number, cpu: number) => this.allocFrames(order, gfp | __GFP_COMP, cpu, true),
      freeSlabPages: (pfn: number, order: number, cpu: number) => {
        const bad = this.buddy.freePages(pfn, order, cpu);
        if (bad) throw new Error(`discard_slab: the page allocator refused pfn ${pfn}: ${bad}`);
      },
    };
    this.slub = new Slub(this.frames, slabPages, {
      slabNew: (cache, pfn) => {
        this.kasan?.newSlab(cache, pfn);
        this.record(EventKind.PageAlloc, -1, pfn, 0, cache.geometry.order);
        this.record(EventKind.SlabNew, cache.id, pfn, SlabPath.NewSlab, cache.geometry.order);
      },
      slabDiscard: (cache, pfn, path, cpu) => {
        this.events.push(EventKind.SlabDiscard, cpu, this.eventLine, cache.id, pfn, path, cache.geometry.order);
        this.events.push(EventKind.PageFree, cpu, this.eventLine, -1, pfn, 0, cache.geometry.order);
      },
      slabMove: (cache, pfn, state, path, cpu) => {
        this.events.push(EventKind.SlabMove, cpu, this.eventLine, cache.id, pfn, path, state);
      },
      debug: this.slubDebug,
      memory: {
        readFreePointer: (cache, slab, index) => this.readFreePointer(cache, slab, index),
        writeFreePointer: (cache, slab, index, ptr) => this.writeFreePointer(cache, slab, index, ptr),
        foreignObject: (cache, ptr) => this.foreignObject(cache, ptr),
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
    // Frames below the start of RAM (RISC-V) do not exist; they stay reserved and in no zone.
    m.frames.flags.fill(PG_RESERVED, 0, m.buddy.firstPfn);
    m.reserved = bootReservations(m.arch, config.memoryBytes);
    m.buildKernelPageTable();
    if (config.kfence) m.reserveKfencePool(config.kfence);
    let pfn = m.buddy.firstPfn;
    for (const r of m.reserved) {
      for (let p = r.startPfn; p < r.endPfn; p++) m.frames.flags[p]! |= PG_RESERVED;
      if (pfn < r.startPfn) m.buddy.freeRangeAtBoot(pfn, r.startPfn);
      pfn = Math.max(pfn, r.endPfn);
    }
    if (pfn < m.frames.count) m.buddy.freeRangeAtBoot(pfn, m.frames.count);
    // init_per_zone_wmark_min() (a postcore_initcall) runs once memblock has freed memory to the zones.
    m.watermarks = computeWatermarks(m.buddy.zones.map((z) => z.managedPages));
    m.buddy.zones.forEach((zone, i) => {
      const w = m.watermarks.zones[i]!;
      zone.wmarkMin = w.min;
      zone.wmarkLow = w.low;
      zone.wmarkHigh = w.high;
      zone.lowmemReserve = w.lowmemReserve;
    });
    m.buddy.setupPcp();
    m.earlyPtNext = NO_PFN;
    const vmallocHost = {
      allocPage: (gfp: number) => m.allocFrames(0, gfp, m.cpu, false),
      freePage: (pfn: number) => {
        const bad = m.buddy.freePages(pfn, 0, m.cpu);
        if (bad) throw new Error(`vfree: the page allocator refused pfn ${pfn}: ${bad}`);
      },
      map: (va: bigint, pfn: number) => m.kernelPt.map(va, pfn, SZ_4K, PAGE_KERNEL).ok,
      unmap: (va: bigint) => {
        m.kernelPt.unmap(va);
      },
      totalramPages: () => m.buddy.managedPages,
    };
    m.vmalloc = new VmallocSpace(m.arch.vmallocStart, m.arch.vmallocEnd, vmallocHost);
    m.modules = new ModuleLoader(m.arch.modulesStart, m.arch.modulesEnd, {
      ...vmallocHost,
      printk: (text) => m.printk(text),
      taint: m.slubDebug.taint,
    });
    m.tasks = new TaskTable(m);
    // The slow path's direct compaction (__alloc_pages_direct_compact -> try_to_compact_pages).
    m.buddy.host.compact = compactionHook(m);
    // slab_debug= (setup_slub_debug): the kernel warns about letters it does not know and goes on.
    if (config.slabDebug !== undefined) {
      const parsed = parseSlabDebug(config.slabDebug);
      if (parsed.ok) {
        m.slabDebugConfig = parsed.config;
        for (const w of parsed.warnings) m.printk(`${w.message}\n`);
      }
    }
    // create_kmalloc_caches(): for each type, 96 and 192, then 8 .. 8k (new_kmalloc_cache).
    for (const type of kmallocTypes(m.arch.hasZoneDma)) {
      const caches: KmemCache[] = [];
      for (const index of KMALLOC_CREATION_ORDER) {
        const name = kmallocName(index, type);
        const size = kmallocSize(index);
        const flags = m.cacheFlags(name, SLAB_KMALLOC | KMALLOC_TYPE_FLAGS[type]!);
        // create_boot_cache(): kmalloc caches are aligned to the largest power of two dividing their size.
        const layout = m.debugLayout(size, kmallocAlign(size), flags, false);
        const geometry =
          layout ?? slabGeometry(size, kmallocAlign(size), config.cpus, { kasan: m.kasanOptions(flags, false) });
        const cache = m.slub.createCache(name, geometry, config.cpus);
        cache.flags = flags;
        cache.allocflags = KMALLOC_TYPE_GFP[type]!;
        m.registerDebug(cache);
        m.registerKasan(cache, false);
        caches[index] = cache;
      }
      m.kmallocCaches[type] = caches;
    }
    return m;
  }

  /**
   * kfence_alloc_pool_and_metadata(): memblock_alloc() of KFENCE_POOL_SIZE, top-down, so just below what memblock
   * handed out before it (the early page tables); reserved like them. The pool needs room above the kernel image.
   */
  private reserveKfencePool(sampleIntervalMs: number): void {
    const below = Math.min(
      ...this.reserved.filter((r) => r.name === 'page tables' || r.name === 'memmap').map((r) => r.startPfn),
    );
    const start = kfencePoolPfn(below);
    const image = this.reserved.find((r) => r.name === 'kernel image')!;
    if (start < image.endPfn) return; // no room: kfence_alloc_pool_and_metadata() fails and KFENCE stays off
    this.reserved = [...this.reserved, { name: 'kfence pool', startPfn: start, endPfn: below }].sort(
      (a, b) => a.startPfn - b.startPfn,
    );
    this.kfence = new KfenceRuntime(this, start * PAGE_SIZE, sampleIntervalMs);
  }

  /** kmem_cache_flags(): the flags a cache named `name` gets, slab_debug='s added. */
  private cacheFlags(name: string, flags: number): number {
    return this.slabDebugConfig ? slabDebugFlags(this.slabDebugConfig, name, flags) : flags;
  }

  /** A debug cache's geometry (calculate_sizes() with its debug metadata), or undefined for a plain cache. */
  private debugLayout(size: number, align: number, flags: number, ctor: boolean): SlabGeometry | undefined {
    if (!(flags & SLAB_DEBUG_FLAGS)) return undefined;
    const layout = kmemCacheDebugLayout(size, align, flags, ctor, {
      disableHigherOrderDebug: this.slabDebugConfig?.disableHigherOrderDebug ?? false,
      kasan: this.kasan !== undefined,
    });
    return geometryOf(layout, this.config.cpus, true);
  }

  /** kasan_cache_create()'s inputs for a cache, or undefined without KASAN. */
  private kasanOptions(flags: number, ctor: boolean) {
    if (!this.kasan) return undefined;
    return {
      ctor,
      typesafeByRcu: (flags & SLAB_TYPESAFE_BY_RCU) !== 0,
      // __slub_debug_enabled(): the slub_debug_enabled static key, global to the machine.
      slubDebugEnabled: this.slabDebugConfig?.enabled ?? false,
    };
  }

  /** Keeps a cache's kasan_info (where its metadata sits), recomputed from what calculate_sizes() had. */
  private registerKasan(cache: KmemCache, ctor: boolean): void {
    const options = this.kasanOptions(cache.flags, ctor);
    if (!this.kasan || !options) return;
    const g = cache.geometry;
    const debugInfo = this.slubDebug.layoutOf(cache)?.kasan;
    if (debugInfo) return this.kasan.register(cache, debugInfo);
    // The slot before kasan_cache_create(): the object in words and a free pointer placed after it.
    const words = Math.ceil(g.objectSize / 8) * 8;
    const soFar = words + (g.offset >= words ? 8 : 0);
    this.kasan.register(
      cache,
      KasanRuntime.cacheInfo(g.objectSize, soFar, cache.flags, ctor, options.slubDebugEnabled),
    );
  }

  private registerDebug(cache: KmemCache): void {
    const g = cache.geometry;
    if (g.debug === undefined) return;
    const layout = kmemCacheDebugLayout(g.objectSize, g.align, cache.flags, cache.ctor !== undefined, {
      disableHigherOrderDebug: this.slabDebugConfig?.disableHigherOrderDebug ?? false,
    });
    this.slubDebug.register(cache, layout);
  }

  /** The direct-map (linear map) virtual address of a physical address: page_address() / __va(). */
  virt(phys: number): bigint {
    return this.arch.pageOffset + BigInt(phys - this.arch.physBase);
  }

  /** virt() as the kernel prints a pointer with %px: 0x and 16 hex digits. */
  formatVirt(phys: number): string {
    return `0x${this.virt(phys).toString(16).padStart(16, '0')}`;
  }

  /**
   * The bytes of physical memory [phys, phys + len) as the kernel would read them: PhysMem, with the free-pointer
   * word of every slab object the range covers as SLUB keeps it (freeptr.ts). The range must lie in RAM.
   */
  readMemory(phys: number, len: number): Uint8Array {
    if (this.kfence && this.touchesPool(phys, len)) return this.readWithPool(phys, len);
    const out = this.mem.read(phys, len);
    this.forEachSlabIn(phys, len, (cache, slab) =>
      overlayFreePointers(this.freePointers, cache, slab.head, slab, PAGE_SIZE, phys, out),
    );
    return out;
  }

  /** Whether [phys, phys + len) overlaps the KFENCE pool, whose bytes the pool keeps. */
  private touchesPool(phys: number, len: number): boolean {
    const start = this.kfence!.poolPhys;
    return phys < start + KFENCE_POOL_SIZE && phys + len > start;
  }

  /** [phys, phys + len) in up to three pieces: before the pool, in it, after it. */
  private poolPieces(phys: number, len: number): { at: number; n: number; pool: boolean }[] {
    const start = this.kfence!.poolPhys;
    const end = start + KFENCE_POOL_SIZE;
    const cuts = [phys, Math.max(phys, start), Math.min(phys + len, end), phys + len];
    const out: { at: number; n: number; pool: boolean }[] = [];
    for (let i = 0; i < 3; i++) {
      if (cuts[i + 1]! > cuts[i]!) out.push({ at: cuts[i]!, n: cuts[i + 1]! - cuts[i]!, pool: i === 1 });
    }
    return out;
  }

  private readWithPool(phys: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (const p of this.poolPieces(phys, len)) {
      const kf = this.kfence!;
      out.set(p.pool ? kf.read(p.at, p.n) : this.mem.read(p.at, p.n), p.at - phys);
    }
    return out;
  }

  private writeWithPool(phys: number, data: Uint8Array): void {
    for (const p of this.poolPieces(phys, data.length)) {
      const bytes = data.subarray(p.at - phys, p.at - phys + p.n);
      if (p.pool) this.kfence!.write(p.at, bytes);
      else this.mem.write(p.at, bytes);
    }
  }

  /** Calls visit once for each slab that has a frame in the physical range [phys, phys + len). */
  private forEachSlabIn(phys: number, len: number, visit: (cache: KmemCache, slab: Slab) => void): void {
    if (len <= 0) return;
    const last = Math.floor((phys + len - 1) / PAGE_SIZE);
    for (let pfn = Math.floor(phys / PAGE_SIZE); pfn <= last;) {
      const slab = this.slub.slabAt(pfn);
      const cache = slab ? this.slub.caches[slab.cache] : undefined;
      if (!slab || !cache) {
        pfn++;
        continue;
      }
      visit(cache, slab);
      pfn = slab.head + (1 << cache.geometry.order);
    }
  }

  /** The machine's own writes to memory (kzalloc's zeroing, krealloc's copy): see materialiseFreePointers. */
  writeMemory(phys: number, data: Uint8Array): void {
    if (this.kfence && this.touchesPool(phys, data.length)) return this.writeWithPool(phys, data);
    this.materialiseFreePointers(phys, data.length);
    this.mem.write(phys, data);
  }

  fillMemory(phys: number, len: number, value: number): void {
    if (this.kfence && this.touchesPool(phys, len)) return this.writeWithPool(phys, new Uint8Array(len).fill(value));
    this.materialiseFreePointers(phys, len);
    this.mem.fill(phys, len, value);
  }

  /**
   * Before the bytes [phys, phys + len) change: every allocated slab object whose free-pointer word the range
   * touches gets its stale word written out to PhysMem, which holds it from then on (OBJ_ALLOCATED). Free
   * objects keep their words in the freelist (the machine never writes into a free object).
   */
  private materialiseFreePointers(phys: number, len: number): void {
    this.forEachSlabIn(phys, len, (cache, slab) => {
      const head = slab.head;
      const g = cache.geometry;
      const base = head * PAGE_SIZE + g.redLeftPad;
      for (let idx = 0; idx < g.objects; idx++) {
        const wordAt = base + idx * g.size + g.offset;
        if (wordAt + 8 <= phys || wordAt >= phys + len || !isAllocated(slab.fp[idx]!)) continue;
        const word = freePointerWord(this.freePointers, cache, head, slab, idx, PAGE_SIZE);
        if (word !== undefined) this.mem.writeU64(wordAt, word);
        slab.fp[idx] = OBJ_ALLOCATED;
      }
    });
  }

  /**
   * A store by kernel code the scenario runs (write64, memset, memcpy): the bytes go to memory as they are.
   * An allocated object's stale free-pointer word is written out first (as for the machine's own writes). A
   * free object whose free-pointer word the store touches gets its freelist link from the new word, decoded
   * as SLUB decodes it: NULL ends its freelist, an object of the same slab becomes its next, and anything
   * else is a corrupted free pointer (FP_CORRUPT) that the allocator will follow where the kernel would.
   */
  storeMemory(phys: number, data: Uint8Array): void {
    if (this.kfence && this.touchesPool(phys, data.length)) return this.writeWithPool(phys, data);
    const touched: { cache: KmemCache; slab: Slab; idx: number; wordAt: number }[] = [];
    this.forEachSlabIn(phys, data.length, (cache, slab) => {
      const g = cache.geometry;
      const base = slab.head * PAGE_SIZE + g.redLeftPad;
      for (let idx = 0; idx < g.objects; idx++) {
        const wordAt = base + idx * g.size + g.offset;
        if (wordAt + 8 <= phys || wordAt >= phys + data.length) continue;
        const v = slab.fp[idx]!;
        if (v !== OBJ_ALLOCATED && v !== FP_CORRUPT) {
          // The word as it reads now goes to memory, so a partial store composes with it.
          const word = freePointerWord(this.freePointers, cache, slab.head, slab, idx, PAGE_SIZE);
          if (word !== undefined) this.mem.writeU64(wordAt, word);
        }
        if (isAllocated(v)) slab.fp[idx] = OBJ_ALLOCATED;
        else touched.push({ cache, slab, idx, wordAt });
      }
    });
    this.mem.write(phys, data);
    for (const t of touched) {
      // The bytes just stored (the object's entry still names its old next, which a read would show).
      const ptr = this.decodeWord(t.cache, t.wordAt, this.mem.read(t.wordAt, 8));
      const g = t.cache.geometry;
      const target = ptr === 0n ? undefined : this.phys(ptr);
      const off = target === undefined ? -1 : target - t.slab.head * PAGE_SIZE - g.redLeftPad;
      const j = off >= 0 && off % g.size === 0 && off / g.size < g.objects ? off / g.size : -1;
      t.slab.fp[t.idx] = ptr === 0n ? FREE_END : j >= 0 ? j : FP_CORRUPT;
    }
  }

  /**
   * get_freepointer(): the free pointer at wordAt (an object's s->offset) of a cache, read as the kernel
   * reads memory (a free object's word from its index list) and decoded.
   */
  freePointerAt(cache: KmemCache, wordAt: number): bigint {
    return this.decodeWord(cache, wordAt, this.readMemory(wordAt, 8));
  }

  /** freelist_ptr_decode() of the 8 little-endian bytes stored at wordAt. */
  private decodeWord(cache: KmemCache, wordAt: number, bytes: Uint8Array): bigint {
    let word = 0n;
    for (let i = 7; i >= 0; i--) word = (word << 8n) | BigInt(bytes[i]!);
    return decodeFreePointer(word, this.virt(wordAt), this.freePointers.randomOf(cache));
  }

  private objectPhys(cache: KmemCache, slab: Slab, index: number): number {
    const g = cache.geometry;
    return slab.head * PAGE_SIZE + g.redLeftPad + index * g.size;
  }

  private readFreePointer(cache: KmemCache, slab: Slab, index: number): bigint {
    return this.freePointerAt(cache, this.objectPhys(cache, slab, index) + cache.geometry.offset);
  }

  private writeFreePointer(cache: KmemCache, slab: Slab, index: number, ptr: bigint): void {
    const wordAt = this.objectPhys(cache, slab, index) + cache.geometry.offset;
    this.mem.writeU64(wordAt, encodeFreePointer(ptr, this.virt(wordAt), this.freePointers.randomOf(cache)));
  }

  /**
   * slab_alloc_node() with a freelist head outside the index lists: the object is wherever the pointer
   * points (an attacker's choice, in a freelist-poisoning story); the next pointer is read at its s->offset.
   * A pointer outside the direct map of RAM faults there: the kernel oopses (KM4013) and the machine stops.
   */
  private foreignObject(cache: KmemCache, ptr: bigint): { phys: number; next: bigint } | undefined {
    const at = ptr + BigInt(cache.geometry.offset);
    const phys = this.phys(ptr);
    if (phys === undefined || this.phys(at + 7n) === undefined) {
      this.oopsOnFreelist(cache, ptr, at);
      return undefined;
    }
    const wordAt = phys + cache.geometry.offset;
    // The word as memory holds it (a free object's comes from its index list).
    const bytes = this.readMemory(wordAt, 8);
    const next = this.decodeWord(cache, wordAt, bytes);
    // An object of a slab handed out this way is in use from now on; memory keeps its word.
    const slab = this.slub.slabAt(Math.floor(phys / PAGE_SIZE));
    if (slab) {
      const index = this.slub.objectIndex(slab, phys);
      if (index === OBJECT_DOUBLE_FREE) {
        this.mem.write(wordAt, bytes);
        slab.fp[this.slubObjectIndex(this.slub.caches[slab.cache]!, slab, phys)] = OBJ_ALLOCATED;
      }
    }
    return { phys, next };
  }

  /** The oops of an allocation that read a free pointer at an address it cannot (get_freepointer_safe()). */
  private oopsOnFreelist(cache: KmemCache, ptr: bigint, at: bigint): void {
    const hex = (v: bigint) => BigInt.asUintN(64, v).toString(16).padStart(16, '0');
    const canonical = at >> 47n === 0n || BigInt.asUintN(64, at) >> 47n === (1n << 17n) - 1n;
    const cpuLine = `CPU: ${this.cpu} UID: 0 PID: ${this.pid} Comm: ${this.comm} Not tainted 6.12.0 #1\n`;
    const report = canonical
      ? `BUG: unable to handle page fault for address: ${hex(at)}\n` +
        '#PF: supervisor read access in kernel mode\n#PF: error_code(0x0000) - not-present page\n' +
        'Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI\n' +
        cpuLine
      : `Oops: general protection fault, probably for non-canonical address 0x${hex(at)}: 0000 [#1] PREEMPT SMP NOPTI\n` +
        cpuLine;
    const rip = `RIP: 0010:__kmalloc_noprof (${cache.name} freelist head 0x${hex(ptr)})\n`;
    this.printk(report + rip);
    this.panic = {
      code: 'KM4013',
      message: `kernel oops: the ${cache.name} freelist leads to 0x${hex(ptr)}, which the allocator cannot read (a corrupted free pointer)`,
      report: report + rip,
    };
  }

  /** __pa() of a direct-map address inside RAM, or undefined when it is not one. */
  phys(virt: bigint): number | undefined {
    const offset = virt - this.arch.pageOffset;
    if (offset < 0n || offset >= BigInt(this.config.memoryBytes)) return undefined;
    return Number(offset) + this.arch.physBase;
  }

  /** The kmalloc cache a request of `size` bytes is served from, or undefined above 8 KiB or for 0. */
  kmallocCacheFor(size: number, gfp = 0): KmemCache | undefined {
    if (size <= 0 || size > KMALLOC_MAX_CACHE_SIZE) {
      return undefined;
    }
    return this.kmallocCaches[kmallocType(gfp, this.arch.hasZoneDma)]![kmallocIndex(size)];
  }

  /**
   * kmalloc(size, gfp): the physical address of the object, KMALLOC_ZERO for size 0, or KMALLOC_FAILED.
   * The cache is kmalloc_type(gfp)'s (kmalloc-, kmalloc-rcl-, dma-kmalloc-, kmalloc-cg-), whose slabs come
   * from ZONE_DMA (dma-) or reclaimable page blocks (rcl-). Large kmallocs honour __GFP_DMA (zone DMA).
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
    this.context.mightAlloc((gfp & __GFP_DIRECT_RECLAIM) !== 0, '__kmalloc_noprof');
    if (size <= KMALLOC_MAX_CACHE_SIZE) {
      const cache = this.kmallocCaches[kmallocType(gfp, this.arch.hasZoneDma)]![kmallocIndex(size)]!;
      if (this.kfence) {
        const phys = this.kfence.alloc(cache, size, gfp);
        if (phys !== undefined) return this.kfenceAllocated(cache, phys, size, 'kmalloc');
      }
      const debug = cache.geometry.debug !== undefined;
      if (debug) {
        this.slubDebug.origSize = size;
        this.slubDebug.entry = '__kmalloc_noprof';
      }
      const phys = this.slub.alloc(cache, this.cpu, gfp & ~GFP_SLAB_BUG_MASK);
      if (phys < 0) {
        this.record(EventKind.KmallocFail, cache.id, 0, size, 0);
        return KMALLOC_FAILED;
      }
      // slab_post_alloc_hook(): __GFP_ZERO (kzalloc) clears the object's s->object_size bytes, only the
      // requested ones when a debug cache red-zones the rest (SLAB_STORE_USER or SLAB_RED_ZONE, kmalloc).
      if (gfp & __GFP_ZERO) {
        const zeroSize = debug && cache.flags & (SLAB_STORE_USER | SLAB_RED_ZONE) ? size : cache.geometry.objectSize;
        this.fillMemory(phys, zeroSize, 0);
      }
      this.kasan?.slabAlloc(phys, size, 'kmalloc', (gfp & __GFP_DIRECT_RECLAIM) !== 0);
      this.kmemleak?.allocPhys(phys, cache.geometry.objectSize, 'kmalloc');
      this.record(EventKind.Kmalloc, cache.id, phys, size, cache.geometry.size);
      return phys;
    }
    return this.kmallocLarge(size, gfp);
  }

  /**
   * kmem_cache_create(name, size, align, flags) of 6.12 (mm/slab_common.c): a cache with calculate_sizes()'s
   * layout, or the existing cache it merges into (find_mergeable: no constructor, no SLAB_NEVER_MERGE flag on
   * either side, never a kmalloc cache (their usersize makes them unmergeable under CONFIG_HARDENED_USERCOPY), the same SLAB_MERGE_SAME flags, a slot at least as big, compatibly aligned and less than a
   * word bigger; the oldest candidate wins), whose refcount grows and whose object_size widens. Returns the
   * cache, or an error with the kernel's reason (size 0 or above KMALLOC_MAX_SIZE is EINVAL).
   */
  kmemCacheCreate(
    name: string,
    size: number,
    align: number,
    requested: number,
    ctor?: SlabCtor,
  ): KmemCache | KfreeError {
    // kmem_cache_flags(): slab_debug= adds its flags before the merge check (debug caches never merge).
    const flags = this.cacheFlags(name, requested);
    if (!Number.isInteger(size) || size < 8 || size > KMALLOC_MAX_SIZE) {
      return { code: 'KM4230', message: `kmem_cache_create(${name}): size ${size} is outside 8..4M (EINVAL)` };
    }
    if (!Number.isInteger(align) || align < 0 || (align & (align - 1)) !== 0 || align > PAGE_SIZE) {
      return { code: 'KM4230', message: `kmem_cache_create(${name}): align ${align} is not a power of two up to 4096` };
    }
    const words = Math.ceil(size / 8) * 8;
    const a = calculateAlignment((flags & SLAB_HWCACHE_ALIGN) !== 0, align, words);
    const slot = Math.ceil(words / a) * a;
    // find_mergeable(): never with a constructor, on either side (slab_unmergeable: s->ctor).
    if (!(flags & SLAB_NEVER_MERGE) && !ctor) {
      // list_for_each_entry_reverse(s, &slab_caches, list): oldest cache first.
      for (const s of this.slub.caches) {
        // slab_unmergeable(): with CONFIG_HARDENED_USERCOPY, kmalloc caches (usersize = size) never take aliases.
        if (s.destroyed || s.ctor || s.flags & (SLAB_NEVER_MERGE | SLAB_KMALLOC)) continue;
        const g = s.geometry;
        if (slot > g.size || (flags & SLAB_MERGE_SAME) !== (s.flags & SLAB_MERGE_SAME)) continue;
        if ((g.size & ~(a - 1)) !== g.size || g.size - slot >= 8) continue;
        s.refcount++;
        s.aliases.push(name);
        return s;
      }
    }
    // calculate_sizes(): with SLAB_TYPESAFE_BY_RCU or a constructor the free pointer may not overlay the
    // object, so it goes after it (s->offset = size; size += sizeof(void *)).
    const geometry =
      this.debugLayout(size, a, flags, ctor !== undefined) ??
      slabGeometry(size, a, this.config.cpus, {
        freePointerAfter: (flags & SLAB_TYPESAFE_BY_RCU) !== 0 || ctor !== undefined,
        kasan: this.kasanOptions(flags, ctor !== undefined),
      });
    const cache = this.slub.createCache(name, geometry, this.config.cpus);
    cache.flags = flags;
    cache.ctor = ctor;
    this.registerDebug(cache);
    this.registerKasan(cache, ctor !== undefined);
    cache.allocflags =
      (flags & SLAB_CACHE_DMA ? __GFP_DMA : 0) |
      (flags & SLAB_CACHE_DMA32 ? __GFP_DMA32 : 0) |
      (flags & SLAB_RECLAIM_ACCOUNT ? __GFP_RECLAIMABLE : 0);
    return cache;
  }

  /** kmem_cache_alloc(s, gfp): an object of the cache (zeroed with __GFP_ZERO), or KMALLOC_FAILED. */
  kmemCacheAlloc(cache: KmemCache, gfp: number): number {
    this.context.mightAlloc((gfp & __GFP_DIRECT_RECLAIM) !== 0, 'kmem_cache_alloc_noprof');
    if (this.kfence) {
      const phys = this.kfence.alloc(cache, cache.geometry.objectSize, gfp);
      if (phys !== undefined) return this.kfenceAllocated(cache, phys, cache.geometry.objectSize, 'kmem_cache_alloc');
    }
    if (cache.geometry.debug !== undefined) this.slubDebug.entry = 'kmem_cache_alloc_noprof';
    const phys = this.slub.alloc(cache, this.cpu, gfp & ~GFP_SLAB_BUG_MASK);
    if (phys < 0) {
      this.record(EventKind.KmallocFail, cache.id, 0, cache.geometry.objectSize, 0);
      return KMALLOC_FAILED;
    }
    if (gfp & __GFP_ZERO) this.fillMemory(phys, cache.geometry.objectSize, 0);
    const objectSize = cache.geometry.objectSize;
    this.kasan?.slabAlloc(phys, objectSize, 'kmem_cache_alloc', (gfp & __GFP_DIRECT_RECLAIM) !== 0);
    this.kmemleak?.allocPhys(phys, objectSize, 'kmem_cache_alloc');
    this.record(EventKind.Kmalloc, cache.id, phys, cache.geometry.objectSize, cache.geometry.size);
    return phys;
  }

  /**
   * kmem_cache_free(s, obj). With CONFIG_SLAB_FREELIST_HARDENED, cache_from_obj() checks the object's real
   * cache: a mismatch WARNs ("kmem_cache_free: Wrong slab cache. %s but object is from %s") and the object
   * goes back to the cache it came from. Double and interior frees are refused as kfree refuses them.
   */
  kmemCacheFree(cache: KmemCache, phys: number): KfreeError | undefined {
    if (this.kfence?.contains(phys)) return this.kfree(phys, 'kmem_cache_free');
    const real = this.slub.cacheOf(phys);
    if (real && real !== cache) {
      this.printk(`kmem_cache_free: Wrong slab cache. ${cache.name} but object is from ${real.name}\n`);
    }
    if (!real) return { code: 'KM4003', message: `kmem_cache_free of an address that is no slab object` };
    return this.kfree(phys, 'kmem_cache_free');
  }

  /**
   * kmem_cache_alloc_bulk(s, gfp, n, p) of 6.12 (__kmem_cache_alloc_bulk): n objects taken from the CPU's
   * freelist, refilled by ___slab_alloc() as often as needed; all or nothing: when one allocation fails the ones
   * already taken are freed (__kmem_cache_free_bulk) and the result is empty. __GFP_ZERO zeroes each object
   * (slab_post_alloc_hook). Each object gets a Kmalloc event (the kernel has no per-object tracepoint here).
   */
  kmemCacheAllocBulk(cache: KmemCache, gfp: number, n: number): number[] {
    const out: number[] = [];
    if (!Number.isInteger(n) || n <= 0) return out;
    this.context.mightAlloc((gfp & __GFP_DIRECT_RECLAIM) !== 0, 'kmem_cache_alloc_bulk_noprof');
    for (let i = 0; i < n; i++) {
      const phys = this.slub.alloc(cache, this.cpu, gfp & ~GFP_SLAB_BUG_MASK);
      if (phys < 0) {
        this.record(EventKind.KmallocFail, cache.id, 0, cache.geometry.objectSize, 0);
        for (const p of out) {
          this.record(EventKind.Kmalloc, cache.id, p, cache.geometry.objectSize, cache.geometry.size);
        }
        this.kmemCacheFreeBulk(cache, out);
        return [];
      }
      out.push(phys);
    }
    for (const phys of out) {
      if (gfp & __GFP_ZERO) this.fillMemory(phys, cache.geometry.objectSize, 0);
      const objectSize = cache.geometry.objectSize;
      this.kasan?.slabAlloc(phys, objectSize, 'kmem_cache_alloc_bulk', (gfp & __GFP_DIRECT_RECLAIM) !== 0);
      this.kmemleak?.allocPhys(phys, objectSize, 'kmem_cache_alloc_bulk');
      this.record(EventKind.Kmalloc, cache.id, phys, cache.geometry.objectSize, cache.geometry.size);
    }
    return out;
  }

  /**
   * kmem_cache_free_bulk(s, n, p) of 6.12, or kfree_bulk(n, p) with no cache: from the end of p,
   * build_detached_freelist() takes an object and gathers the others of the same slab into one chain (looking
   * at most 3 objects past the last match, swapping gathered ones towards the end of the array), then
   * do_slab_free() frees the chain at once; large kmallocs (kfree_bulk only) go back to the page allocator.
   * Unlike the kernel, which would corrupt its lists, a bad array (a free object, an address inside an
   * object, a duplicate, non-slab memory) is refused before anything is freed.
   */
  kmemCacheFreeBulk(cache: KmemCache | undefined, ptrs: readonly number[]): KfreeError | undefined {
    const seen = new Set<number>();
    for (const phys of ptrs) {
      if (seen.has(phys)) return { code: 'KM4002', message: `${this.formatVirt(phys)} appears twice` };
      seen.add(phys);
      const slab = Number.isInteger(phys) && phys >= 0 ? this.slub.slabAt(Math.floor(phys / PAGE_SIZE)) : undefined;
      if (!slab) {
        const pfn = Math.floor(phys / PAGE_SIZE);
        if (cache === undefined && phys % PAGE_SIZE === 0 && this.largeKmalloc.has(pfn)) continue;
        return { code: 'KM4003', message: `${this.formatVirt(phys)} is no slab object` };
      }
      const index = this.slub.objectIndex(slab, phys);
      if (index === OBJECT_DOUBLE_FREE) {
        return { code: 'KM4002', message: `${this.formatVirt(phys)} is already free (double free)` };
      }
      if (index < 0) {
        return { code: 'KM4003', message: `${this.formatVirt(phys)} is inside an object, not its start` };
      }
      const real = this.slub.caches[slab.cache]!;
      if (cache && real !== cache) {
        this.printk(`kmem_cache_free_bulk: Wrong slab cache. ${cache.name} but object is from ${real.name}\n`);
      }
    }
    if (this.kasan) {
      // slab_free_hook() of each object: KASAN quarantines them one by one (none reaches the freelist now).
      const entry = cache ? 'kmem_cache_free_bulk' : 'kfree_bulk';
      for (let i = ptrs.length - 1; i >= 0; i--) {
        const phys = ptrs[i]!;
        if (this.slub.slabAt(Math.floor(phys / PAGE_SIZE))) this.kasanSlabFree(phys, entry);
        else this.kfree(phys);
      }
      return undefined;
    }
    if (this.kmemleak) for (const phys of ptrs) this.kmemleak.freePhys(phys);
    const p = [...ptrs];
    let size = p.length;
    while (size > 0) {
      const object = p[--size]!;
      const slab = this.slub.slabAt(Math.floor(object / PAGE_SIZE));
      if (!slab) {
        this.kfree(object); // free_large_kmalloc()
        continue;
      }
      const owner = this.slub.caches[slab.cache]!;
      const tail = this.slub.objectIndex(slab, object);
      let head = tail;
      let cnt = 1;
      this.record(EventKind.Kfree, owner.id, object, 0, owner.geometry.size);
      let lookahead = 3;
      let same = size;
      while (size > 0) {
        const other = p[--size]!;
        if (this.slub.slabAt(Math.floor(other / PAGE_SIZE)) === slab) {
          const i = this.slub.objectIndex(slab, other);
          slab.fp[i] = head; // set_freepointer(df->s, object, df->freelist)
          head = i;
          cnt++;
          same--;
          this.record(EventKind.Kfree, owner.id, other, 0, owner.geometry.size);
          if (size !== same) [p[size], p[same]] = [p[same]!, p[size]!];
          continue;
        }
        if (!--lookahead) break;
      }
      size = same;
      this.slub.freeChain(owner, slab, head, tail, cnt, this.cpu);
    }
    return undefined;
  }

  /**
   * kmem_cache_shrink(s): flush the CPU slabs and free the empty slabs. Returns what the kernel returns: 0
   * when every slab was released, 1 otherwise (__kmem_cache_do_shrink: `if (node_nr_slabs(n)) ret = 1`).
   */
  kmemCacheShrink(cache: KmemCache): number {
    this.kasan?.removeCache(cache); // kasan_cache_shrink()
    this.slub.shrink(cache, this.cpu);
    return cache.nrSlabs > 0 ? 1 : 0;
  }

  /**
   * kmem_cache_destroy(s) of 6.12: drops one reference (an alias's destroy only does that); the last one shuts
   * the cache down (__kmem_cache_shutdown: flush, free the empty slabs). When objects remain the kernel WARNs
   * "kmem_cache_destroy %s: Slab cache still has objects when called from %pS" and still unlinks the cache
   * (gone from slab_caches, /proc/slabinfo and sysfs) but never releases it: the slabs with objects stay,
   * leaked, and kfree() of their objects still works.
   */
  kmemCacheDestroy(cache: KmemCache): void {
    if (cache.destroyed) return;
    cache.refcount--;
    if (cache.refcount > 0) return;
    this.kasan?.removeCache(cache); // kasan_cache_shutdown()
    this.slub.shrink(cache, this.cpu, SlabPath.Shutdown);
    if (cache.nrSlabs > 0) {
      this.printk(
        `------------[ cut here ]------------\n` +
          `kmem_cache_destroy ${cache.name}: Slab cache still has objects when called from scenario line ${this.line}\n`,
      );
    }
    cache.destroyed = true;
  }

  /**
   * ksize(): the usable size of what kmalloc returned at phys: the slab cache's s->size (slab_ksize of a cache
   * without debug flags) or the whole compound page of a large kmalloc (page_size()); an error for anything
   * else (the kernel would WARN or crash on it).
   */
  ksize(phys: number): number | KfreeError {
    const pfn = Math.floor(phys / PAGE_SIZE);
    if (!Number.isInteger(phys) || pfn < 0 || pfn >= this.frames.count) {
      return { code: 'KM4001', message: 'ksize of an address outside memory' };
    }
    if (this.kfence?.contains(phys)) {
      const size = this.kfence.ksize(phys);
      if (size !== undefined) return size;
      return { code: 'KM4003', message: 'ksize of a KFENCE address that is no live object' };
    }
    if (this.frames.flags[pfn]! & PG_SLAB) {
      // ksize(): kasan_check_byte() first; a poisoned byte is reported and ksize() returns 0.
      if (this.kasan && !this.kasan.checkByte(phys, 'ksize')) return 0;
      const obj = this.slub.lookupObject(phys);
      if (typeof obj === 'string') {
        return {
          code: obj === 'double free' ? 'KM4002' : 'KM4003',
          message: obj === 'double free' ? 'ksize of a freed object' : 'ksize of an address inside an object',
        };
      }
      return this.slabKsize(obj.cache);
    }
    const asked = this.largeKmalloc.get(pfn);
    if (asked !== undefined && phys % PAGE_SIZE === 0) return PAGE_SIZE << getOrder(asked);
    return { code: 'KM4003', message: 'ksize of an address kmalloc did not return' };
  }

  /**
   * slab_ksize() (mm/slab.h): what ksize() says of a cache's objects. Red zones or poison (they use the bytes
   * after the object) and KASAN (its redzone) give object_size; SLAB_TYPESAFE_BY_RCU and SLAB_STORE_USER give
   * inuse (the free pointer or the tracks follow); else the whole slot.
   */
  private slabKsize(cache: KmemCache): number {
    const g = cache.geometry;
    if (cache.flags & (SLAB_RED_ZONE | SLAB_POISON) || this.kasan) return g.objectSize;
    if (cache.flags & (SLAB_TYPESAFE_BY_RCU | SLAB_STORE_USER)) return g.inuse;
    return g.size;
  }

  /**
   * krealloc(p, new_size, gfp) of 6.12 (mm/slab_common.c krealloc_noprof, __do_krealloc): new_size 0 frees p
   * and gives ZERO_SIZE_PTR; an object whose ksize() still holds new_size is returned as it is (its spare
   * bytes zeroed with __GFP_ZERO); otherwise a new kmalloc(new_size), ksize(p) bytes copied, p freed.
   * p is the physical address, or KMALLOC_ZERO / 0 for ZERO_SIZE_PTR / NULL (then it is kmalloc).
   */
  krealloc(phys: number, newSize: number, gfp: number): number | KfreeError {
    const isNull = phys === 0 || phys === KMALLOC_ZERO;
    if (newSize === 0) {
      if (!isNull) {
        const bad = this.kfree(phys);
        if (bad) return bad;
      }
      return KMALLOC_ZERO;
    }
    let ks = 0;
    if (!isNull) {
      // __do_krealloc(): kasan_check_byte() catches a freed p (reported; krealloc returns NULL).
      if (this.kasan && !this.kasan.checkByte(phys, 'krealloc_noprof')) return KMALLOC_FAILED;
      const size = this.ksize(phys);
      if (typeof size !== 'number') return size;
      ks = size;
    }
    if (ks >= newSize) {
      if (gfp & __GFP_ZERO) this.fillMemory(phys + newSize, ks - newSize, 0);
      this.kasan?.krealloc(phys, newSize); // kasan_krealloc(): poisoned again to the new size
      return phys;
    }
    const fresh = this.kmalloc(newSize, gfp);
    if (fresh < 0 || isNull) return fresh;
    this.writeMemory(fresh, this.readMemory(phys, ks));
    const bad = this.kfree(phys, 'krealloc');
    return bad ?? fresh;
  }

  /** kfree(phys); `ptr` values 0 (NULL) and ZERO_SIZE_PTR are accepted and ignored by the caller. */
  kfree(phys: number, entry = 'kfree'): KfreeError | undefined {
    const pfn = Math.floor(phys / PAGE_SIZE);
    if (!Number.isInteger(phys) || pfn < 0 || pfn >= this.frames.count) {
      return { code: 'KM4001', message: `kfree of an address outside memory` };
    }
    if (this.kfence?.contains(phys)) {
      // is_kfence_address(): __kfence_free() checks and frees it (or reports an invalid free).
      if (this.kfence.ksize(phys) !== undefined) {
        this.record(EventKind.Kfree, -1, phys, 0, 0);
        this.kmemleak?.freePhys(phys);
      }
      this.kfence.free(phys);
      return undefined;
    }
    // Slub.lookupObject() and freeObject() without the intermediate object (the hot path of kfree): the
    // slab directory has a slab id for exactly the frames with PG_SLAB.
    const slub = this.slub;
    const id = slub.slabIdAt(pfn);
    if (id !== NO_SLAB) {
      if (this.kasan) return this.kasanSlabFree(phys, entry);
      const cache = slub.slabCache(id);
      const index = slub.objectIndexOf(cache, id, phys);
      if (index === OBJECT_DOUBLE_FREE && cache.flags & SLAB_CONSISTENCY_CHECKS) {
        // free_debug_processing() -> on_freelist(): reported, not freed; the kernel goes on.
        this.record(EventKind.Kfree, cache.id, phys, 0, cache.geometry.size);
        this.slubDebug.entry = entry;
        const slab = slub.slabAt(pfn)!;
        this.slubDebug.alreadyFree(cache, slab, this.slubObjectIndex(cache, slab, phys));
        return undefined;
      }
      if (index < 0) {
        return {
          code: index === OBJECT_DOUBLE_FREE ? 'KM4002' : 'KM4003',
          message:
            index === OBJECT_DOUBLE_FREE
              ? `double free of an object of ${cache.name}`
              : `kfree of an address inside an object of ${cache.name}, not its start`,
        };
      }
      // trace_kfree() fires first in kfree(), before slab_free() may discard the slab.
      this.record(EventKind.Kfree, cache.id, phys, 0, cache.geometry.size);
      this.kmemleak?.freePhys(phys);
      if (cache.geometry.debug !== undefined) this.slubDebug.entry = entry;
      slub.freeIndex(cache, id, index, this.cpu);
      return undefined;
    }
    const flags = this.frames.flags[pfn]!;
    const asked = this.largeKmalloc.get(pfn);
    if (asked !== undefined && phys % PAGE_SIZE === 0) {
      const order = getOrder(asked);
      // trace_kfree() fires first, then free_large_kmalloc() gives the pages back.
      this.record(EventKind.Kfree, -1, phys, 0, PAGE_SIZE << order);
      this.largeKmalloc.delete(pfn);
      this.kasan?.largeFreed(pfn);
      this.kmemleak?.freePhys(phys);
      this.buddy.freePages(pfn, order, this.cpu);
      this.record(EventKind.PageFree, -1, pfn, 0, order);
      return undefined;
    }
    if (this.kasan) {
      // free_large_kmalloc() -> __kasan_kfree_large() -> check_page_allocation(): a pointer inside a large
      // kmalloc is an invalid-free (reported; the kernel frees the folio all the same), one into freed pages
      // a double-free (reported; the kernel would then trip over the page's refcount, the emulator stops there).
      const owner = this.ownerOf(pfn);
      if (owner && this.largeKmalloc.has(owner.head)) {
        this.kasan.reportLargeFree(KasanBug.InvalidFree, phys);
        return this.kfree(owner.head * PAGE_SIZE, entry);
      }
      if (this.buddy.findFreeBlock(pfn) !== undefined || this.buddy.findPcpBlock(pfn)) {
        this.kasan.reportLargeFree(KasanBug.DoubleFree, phys);
        return undefined;
      }
    }
    if (flags & (PG_HEAD | PG_TAIL) || (this.buddy.findFreeBlock(pfn) === undefined && !this.buddy.findPcpBlock(pfn))) {
      return { code: 'KM4003', message: `kfree of an address kmalloc did not return` };
    }
    return { code: 'KM4002', message: `kfree of free memory (double free of a large kmalloc?)` };
  }

  /**
   * slab_free() of a slab address under KASAN: __kasan_slab_pre_free() reports an invalid or double free (and
   * nothing is freed, as the kernel skips the free); otherwise trace_kfree() and __kasan_slab_free(), which
   * puts the object in the quarantine; only a cache without free meta frees it at once.
   */
  private kasanSlabFree(phys: number, entry: string): KfreeError | undefined {
    if (this.kasan!.preFree(phys, entry) !== undefined) return undefined;
    const id = this.slub.slabIdAt(Math.floor(phys / PAGE_SIZE));
    const cache = this.slub.slabCache(id);
    const index = this.slub.objectIndexOf(cache, id, phys);
    if (index < 0) {
      // KASAN saw a live object where SLUB has a free one: state the scenario corrupted (a poisoned freelist).
      return { code: 'KM4002', message: `kfree of ${this.formatVirt(phys)}, which the allocator holds as free` };
    }
    this.record(EventKind.Kfree, cache.id, phys, 0, cache.geometry.size);
    this.kmemleak?.freePhys(phys);
    if (this.kasan!.slabFree(phys, entry)) return undefined;
    if (cache.geometry.debug !== undefined) this.slubDebug.entry = entry;
    this.slub.freeIndex(cache, id, index, this.cpu);
    return undefined;
  }

  /** slab_post_alloc_hook() of a KFENCE object: kmemleak tracks it (KASAN leaves KFENCE objects alone). */
  private kfenceAllocated(cache: KmemCache, phys: number, size: number, entry: string): number {
    this.kmemleak?.allocPhys(phys, cache.geometry.objectSize, entry);
    this.record(EventKind.Kmalloc, cache.id, phys, size, cache.geometry.size);
    return phys;
  }

  /** The index of the object starting at phys in `slab` (phys is an object's start). */
  private slubObjectIndex(cache: KmemCache, slab: Slab, phys: number): number {
    const g = cache.geometry;
    return Math.round((phys - slab.head * PAGE_SIZE - g.redLeftPad) / g.size);
  }

  /** kmalloc_large(): 2^get_order(size) pages, compound, straight from the buddy allocator. */
  private kmallocLarge(size: number, gfp: number): number {
    const order = getOrder(size);
    // kmalloc_fix_flags(): GFP_SLAB_BUG_MASK (__GFP_DMA32, __GFP_HIGHMEM) is dropped with an "Unexpected gfp" warning.
    const pfn = this.allocFrames(order, (gfp & ~GFP_SLAB_BUG_MASK) | __GFP_COMP, this.cpu, false);
    if (pfn === NO_PFN) {
      this.record(EventKind.KmallocFail, -1, 0, size, order);
      return KMALLOC_FAILED;
    }
    this.largeKmalloc.set(pfn, size);
    this.kasan?.largeAlloc((gfp & __GFP_DIRECT_RECLAIM) !== 0);
    this.kmemleak?.allocPhys(pfn * PAGE_SIZE, size, 'kmalloc');
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
    this.context.mightAlloc((gfp & __GFP_DIRECT_RECLAIM) !== 0, '__alloc_pages_noprof');
    const pfn = this.allocFrames(order, gfp, this.cpu, false);
    if (pfn === NO_PFN) {
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
    const refused = this.buddy.freePages(pfn, order, this.cpu);
    if (refused) {
      throw new Error(`machine: the buddy allocator refused a free the checks passed (${refused})`);
    }
    this.pageAllocations.delete(pfn);
    this.largeKmalloc.delete(pfn);
    this.record(EventKind.PageFree, -1, pfn, 0, order);
    return undefined;
  }

  /**
   * __alloc_pages() for every caller (alloc_pages, large kmalloc, slabs): the first pfn, or NO_PFN after
   * the kernel's reaction to the failure: warn_alloc() unless __GFP_NOWARN, or the OOM killer, which with
   * no user task to kill panics the kernel (this.panic). __GFP_ZERO zeroes the frames' bytes.
   */
  allocFrames(order: number, gfp: number, cpu: number, slab = false): number {
    if (this.panic) return NO_PFN;
    const req = { order, gfp, cpu, compound: (gfp & __GFP_COMP) !== 0 };
    let pfn = this.buddy.allocPages(req);
    // out_of_memory(): kill the task with the highest oom_badness, then try again; a machine with no
    // killable task (pid 1 never is) falls through to the panic below.
    while (pfn === NO_PFN && this.buddy.lastFailure === 'oom') {
      const victim = this.tasks.selectOomVictim();
      if (!victim) break;
      const info = this.tasks.oomKill(victim);
      this.printk(formatOom({ comm: this.comm, gfp, order, victim: info }));
      this.record(EventKind.Oom, info.pid, 0, gfp >>> 0, order);
      pfn = this.buddy.retryAfterOom(req);
      if (pfn === NO_PFN) pfn = this.buddy.allocPages(req);
    }
    if (pfn !== NO_PFN) {
      if (gfp & __GFP_ZERO) {
        for (let p = pfn; p < pfn + (1 << order); p++) this.mem.zeroPage(p);
      }
      return pfn;
    }
    const failure = this.buddy.lastFailure;
    if (failure === 'oom' || failure === 'livelock') {
      const report =
        failure === 'oom'
          ? formatOom({ comm: this.comm, gfp, order })
          : `kmem: ${slab ? 'a slab' : 'an'} order-${order} allocation with mode ${formatGfpFlagsHex(gfp)} cannot fail ` +
            `and cannot invoke the OOM killer without __GFP_FS: the kernel would retry forever\n`;
      this.printk(report);
      this.record(EventKind.Oom, 0, 0, gfp >>> 0, order);
      this.panic = {
        code: failure === 'oom' ? 'KM4008' : 'KM4009',
        message:
          failure === 'oom'
            ? 'Kernel panic - not syncing: System is deadlocked on memory (out of memory and no killable processes)'
            : `allocation livelock: order-${order} ${formatGfpFlagsHex(gfp)} can neither fail nor OOM-kill`,
        report,
      };
      return NO_PFN;
    }
    if (!(gfp & __GFP_NOWARN)) {
      this.printk(
        formatPageAllocFailure({
          comm: this.comm,
          order,
          gfp,
          zones: this.buddy.populatedZones().map((z) => ({
            name: z.name,
            index: z.index,
            nrFree: Array.from(z.nrFree),
            types: Array.from({ length: z.nrFree.length }, (_, o) => {
              let mask = 0;
              for (let mt = 0; mt < MIGRATE_TYPES; mt++) if (z.nrFreeByType[o * MIGRATE_TYPES + mt]) mask |= 1 << mt;
              return mask;
            }),
          })),
          maxZoneIndex: gfpZone(gfp),
        }),
      );
    }
    return NO_PFN;
  }

  /**
   * split_page(page, order): a non-compound block of 2^order pages becomes 2^order order-0 pages, each
   * with its own reference, so each can be freed alone. The kernel's VM_BUG_ON_PAGE(PageCompound(page))
   * and VM_BUG_ON_PAGE(!page_count(page)) become errors here.
   */
  splitPage(phys: number, order: number): KfreeError | undefined {
    const pfn = Math.floor(phys / PAGE_SIZE);
    const owner = Number.isInteger(phys) && pfn >= 0 && pfn < this.frames.count ? this.ownerOf(pfn) : undefined;
    if (!owner || owner.head !== pfn || this.frames.flags[pfn]! & PG_SLAB) {
      return {
        code: 'KM4010',
        message: `split_page of a page that is not the first page of an allocation (page_count is 0)`,
      };
    }
    if (this.frames.flags[pfn]! & PG_HEAD) {
      return {
        code: 'KM4010',
        message: `split_page of a compound page (allocated with __GFP_COMP): VM_BUG_ON_PAGE(PageCompound(page))`,
      };
    }
    if (owner.order !== order) {
      return { code: 'KM4010', message: `split_page with order ${order} of an order-${owner.order} block` };
    }
    this.splitOwned(pfn, order);
    return undefined;
  }

  private splitOwned(pfn: number, order: number): void {
    this.pageAllocations.delete(pfn);
    for (let p = pfn; p < pfn + (1 << order); p++) {
      this.frames.order[p] = 0;
      this.frames.refcount[p] = 1;
      this.pageAllocations.set(p, 0);
    }
  }

  /**
   * alloc_pages_exact(size, gfp): __get_free_pages(gfp, get_order(size)) split into single pages, the pages
   * past PAGE_ALIGN(size) given back at once (make_alloc_exact, to the tail of the free lists). __GFP_COMP
   * and __GFP_HIGHMEM are dropped with a warning, as WARN_ON_ONCE does.
   */
  allocPagesExact(size: number, gfp: number): number {
    if (!Number.isInteger(size) || size <= 0 || size > PAGE_SIZE << MAX_PAGE_ORDER) {
      return this.allocPages(MAX_PAGE_ORDER + 1, gfp);
    }
    const order = getOrder(size);
    const phys = this.allocPages(order, gfp & ~(__GFP_COMP | __GFP_HIGHMEM));
    if (phys < 0) return phys;
    const pfn = phys / PAGE_SIZE;
    const nr = Math.ceil(size / PAGE_SIZE);
    this.splitOwned(pfn, order);
    for (let p = pfn + nr; p < pfn + (1 << order); p++) {
      this.pageAllocations.delete(p);
      const buddy = this.buddy.buddies[this.buddy.zoneOf(p)]!;
      buddy.freeBlock(p, 0, buddy.blockType(p), true);
      this.record(EventKind.PageFree, -1, p, 0, 0);
    }
    return phys;
  }

  /** free_pages_exact(addr, size): free_page() on each page of PAGE_ALIGN(size) bytes from addr. */
  freePagesExact(phys: number, size: number): FreePagesError | undefined {
    const pages = Math.ceil(size / PAGE_SIZE);
    for (let i = 0; i < pages; i++) {
      const bad = this.freePages(phys + i * PAGE_SIZE, 0);
      if (bad) return bad;
    }
    return undefined;
  }

  /** drain_all_pages(NULL): every CPU's per-CPU page lists go back to the buddy allocator; frames moved. */
  drainAllPages(): number {
    return this.buddy.drainAll();
  }

  /**
   * The kernel's own page table at boot (init_mm): the direct map of all RAM at PAGE_OFFSET with the
   * largest pages that fit (1 GiB, then 2 MiB, then 4 KiB, as the kernel's kernel_physical_mapping_init
   * does on x86-64 with gbpages), and the kernel image at its link address (x86-64 __START_KERNEL_map +
   * its physical address; RISC-V KERNEL_LINK_ADDR), the first half as text (read-only, executable), the
   * rest as data (read-write, NX). Early table pages come from memblock, just below the memmap, and are
   * reserved ("page tables"); they do not count in PageTables, as memblock allocations do not.
   */
  private buildKernelPageTable(): void {
    const memmap = this.reserved.find((r) => r.name === 'memmap')!;
    this.earlyPtNext = memmap.startPfn;
    this.earlyPtLow = memmap.startPfn;
    const host = {
      mem: this.mem,
      allocTablePage: () => this.allocTablePage(),
      freeTablePage: (pfn: number) => this.freeTablePage(pfn),
    };
    const pt = PageTable.createKernel(this.arch, host);
    if (!pt) throw new Error('boot: no frame for the kernel pgd');
    this.kernelPt = pt;
    const base = this.arch.physBase;
    const end = base + this.config.memoryBytes;
    for (let phys = base; phys < end;) {
      const size = [SZ_1G, SZ_2M, SZ_4K].find((sz) => phys % sz === 0 && phys + sz <= end)! as PageSize;
      const r = pt.map(this.virt(phys), phys / PAGE_SIZE, size, PAGE_KERNEL);
      if (!r.ok) throw new Error(`boot: direct map of ${phys}: ${r.message}`);
      phys += size;
    }
    const image = this.reserved.find((r) => r.name === 'kernel image')!;
    const textEnd = image.startPfn + Math.floor((image.endPfn - image.startPfn) / 2);
    for (let pfn = image.startPfn; pfn < image.endPfn;) {
      // x86-64: __START_KERNEL_map + the physical address (_text = 0xffffffff81000000 at 16 MiB);
      // RISC-V: KERNEL_LINK_ADDR maps the image's first byte.
      const offset = this.arch.family === 'x86' ? pfn * PAGE_SIZE : (pfn - image.startPfn) * PAGE_SIZE;
      const va = this.arch.kernelTextStart + BigInt(offset);
      const rx = pfn < textEnd;
      const limit = rx ? textEnd : image.endPfn;
      const large = pfn % 512 === 0 && pfn + 512 <= limit && va % BigInt(SZ_2M) === 0n;
      const r = pt.map(va, pfn, large ? SZ_2M : SZ_4K, rx ? PAGE_KERNEL_ROX : PAGE_KERNEL);
      if (!r.ok) throw new Error(`boot: kernel image mapping: ${r.message}`);
      pfn += large ? 512 : 1;
    }
    this.reserved = [
      ...this.reserved.filter((r) => r !== memmap),
      { name: 'page tables', startPfn: this.earlyPtLow, endPfn: memmap.startPfn },
      memmap,
    ].filter((r) => r.endPfn > r.startPfn);
  }

  /** A zeroed frame for a page table: memblock at boot, the page allocator (GFP_PGTABLE_KERNEL) after. */
  private allocTablePage(): number {
    if (this.earlyPtNext !== NO_PFN) {
      const pfn = --this.earlyPtNext;
      this.earlyPtLow = pfn;
      this.frames.flags[pfn] = PG_RESERVED | PG_PGTABLE;
      this.mem.zeroPage(pfn);
      return pfn;
    }
    const pfn = this.allocFrames(0, GFP_KERNEL | __GFP_ZERO, this.cpu, false);
    if (pfn === NO_PFN) return NO_PFN;
    this.frames.flags[pfn]! |= PG_PGTABLE;
    this.pageTablePages++;
    return pfn;
  }

  private freeTablePage(pfn: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.frames.count || !(this.frames.flags[pfn]! & PG_PGTABLE)) {
      return; // a corrupted entry pointing anywhere: never free what is not a table page
    }
    if (this.frames.flags[pfn]! & PG_RESERVED) return; // boot tables stay
    this.frames.flags[pfn]! &= ~PG_PGTABLE;
    this.pageTablePages--;
    this.buddy.freePages(pfn, 0, this.cpu);
  }

  /** The allocation (head pfn and order) a non-free frame belongs to, from its flags and head orders. */
  private ownerOf(pfn: number): { head: number; order: number } | undefined {
    const { flags, order: orders, refcount } = this.frames;
    for (let o = 0; o <= MAX_PAGE_ORDER; o++) {
      const head = pfn & ~((1 << o) - 1);
      if (refcount[head]! >= 1 && !(flags[head]! & (PG_TAIL | PG_BUDDY)) && orders[head]! >= o) {
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
    const cached = this.buddy.findPcpBlock(pfn);
    if (cached) {
      return {
        reason: refZero,
        note: `pfn ${hex(pfn)} is already free (cached on CPU ${cached.cpu}'s per-CPU page list): double free`,
      };
    }
    const free = this.buddy.findFreeBlock(pfn);
    if (free) {
      return {
        reason: refZero,
        note: `pfn ${hex(pfn)} is already free (in the order-${free.order} free block at pfn ${hex(free.pfn)}): double free`,
      };
    }
    if (flags & (PG_ANON | PG_PGTABLE)) {
      // A mapped user page (_mapcount >= 0) or a page-table page (a page type, kept in the _mapcount word):
      // free_page_is_bad() -> page_bad_reason() says "nonzero mapcount".
      const maps = this.tasks.rmap.get(pfn)?.maps.length ?? 0;
      return {
        reason: 'nonzero mapcount',
        note:
          flags & PG_ANON
            ? `pfn ${hex(pfn)} is an anonymous page mapped by ${maps} process${maps === 1 ? '' : 'es'}: it goes with munmap or exit`
            : `pfn ${hex(pfn)} is a page-table page`,
      };
    }
    const area = this.vmalloc.areas().find((a) => a.pages.includes(pfn));
    if (area) {
      // The kernel has no check for this (the page is an ordinary allocated page); freeing it would leave the
      // area mapping a free page. The emulator refuses it, with no reason line.
      return {
        note: `pfn ${hex(pfn)} is page ${area.pages.indexOf(pfn)} of the vmalloc area at 0x${area.addr.toString(16)}: vfree it`,
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

  /** Appends one message (ending in a newline) to the kernel log. */
  printk(text: string): void {
    if (this.log.length < LOG_LIMIT) {
      this.log.push(text);
    } else {
      this.logDropped++;
    }
  }

  private record(kind: EventKind, cache: number, addr: number, size: number, extra: number): void {
    this.events.push(kind, this.cpu, this.eventLine, cache, addr, size, extra);
  }

  /** What the scenario printed (`print`), line by line, for the host to show as the program's output. */
  readonly output: string[] = [];

  /** A line of the scenario's own output; kept up to OUTPUT_MAX lines, as the kernel log is. */
  printOutput(text: string): void {
    if (this.output.length < OUTPUT_MAX) this.output.push(text);
    else this.outputDropped++;
  }

  /** Output lines past OUTPUT_MAX, not kept. */
  outputDropped = 0;

  /** Reports a detector has made so far, by the kind of their event (0 for other kinds). */
  reportCount(kind: EventKind): number {
    if (kind === EventKind.SlubDebug) return this.slubDebug.reports;
    if (kind === EventKind.Kasan) return this.kasan?.reports ?? 0;
    if (kind === EventKind.Kmemleak) return this.kmemleak?.reports ?? 0;
    if (kind === EventKind.Kfence) return this.kfence?.reports ?? 0;
    if (kind === EventKind.MightSleep) return this.mightSleepReports;
    return 0;
  }

  /** The machine's random number generator state (xorshift32, seeded by config.seed). */
  private rngState = 0;

  /** The next 32-bit random number: deterministic for a seed (a run is a function of scenario and seed). */
  random(): number {
    if (this.rngState === 0) this.rngState = seedState(this.config.seed ?? 1);
    let x = this.rngState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rngState = x >>> 0 || 0x9e3779b9;
    return this.rngState;
  }

  /** jiffies at HZ=1000: INITIAL_JIFFIES ((unsigned int)-300 * HZ, so it wraps 5 minutes after boot) + uptime. */
  get jiffies(): number {
    return INITIAL_JIFFIES + this.uptimeMs;
  }

  /** A detector's report as an event (its text is already in the log): cache, the address, what it found. */
  recordReport(kind: EventKind, cache: number, addr: number, what: number): void {
    this.record(kind, cache, addr, what, 0);
  }
}

export { ZERO_SIZE_PTR };
