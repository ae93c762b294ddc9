/*
 * SLUB debugging on the machine: what mm/slub.c does for a debug cache (one with slab_debug= flags) around
 * every allocation, free and slab, with slub_debug.ts supplying the layout, the bytes and the reports.
 *
 *   new slab     setup_slab_debug() (SLAB_POISON: the slab filled with POISON_INUSE), then
 *                setup_object_debug() of each object: red zones SLUB_RED_INACTIVE, poison, tracks zeroed
 *   allocation   alloc_debug_processing(): with SLAB_CONSISTENCY_CHECKS check_object(SLUB_RED_INACTIVE)
 *                (a write into a free object shows here); then orig_size, init_object(SLUB_RED_ACTIVE) and
 *                the allocation track (SLAB_STORE_USER)
 *   free         free_debug_processing(): with SLAB_CONSISTENCY_CHECKS an object already free ("Object
 *                already free") and check_object(SLUB_RED_ACTIVE) (a write past the object shows here); then
 *                the free track and init_object(SLUB_RED_INACTIVE). A failed check frees nothing.
 *   slab freed   free_slab(): slab_pad_check() and check_object(SLUB_RED_INACTIVE) of every object
 *
 * Every report goes to the kernel log in the kernel's words, ends with dump_stack()'s lines as 6.12 prints
 * them (the current task, the taint before the report adds its own, the call trace from dump_stack_lvl down
 * to the scenario line), and is a slub_debug event (cache, object), which the debugger can stop on. Bytes are the machine's (PhysMem): debug writes never cover a free
 * pointer (slub_debug.ts places it outside what they write), and reads see free pointers in place.
 *
 * Modelled choices, documented where the kernel has information the emulator does not: a track's caller is
 * the scenario line (printed `line_N+0x0/0x1 [scenario]`), its stack the allocator's entry and that line; a
 * report's call trace lists every function of the 6.12 path that is not declared inline (see the paths below);
 * jiffies count the machine's events; the pid is 1; the struct slab address is its struct page in the
 * vmemmap, and its flags print as head (for compound slabs), node and zone.
 */

import { PAGE_SIZE } from './config';
import type { Machine } from './machine';
import {
  FREE_END,
  KmemCache,
  OBJ_STALE_END,
  isAllocated,
  SLAB_CONSISTENCY_CHECKS,
  SLAB_KMALLOC,
  SLAB_STORE_USER,
  SLAB_TRACE,
  Slab,
  SlubDebugHooks,
} from './slub';
import {
  DebugMemory,
  FreePointerOps,
  SLUB_RED_ACTIVE,
  SLUB_RED_INACTIVE,
  SlubDebugLayout,
  SlubReportContext,
  TRACK_ALLOC,
  TRACK_FREE,
  TaintState,
  checkObject,
  dumpStackHeader,
  dumpStackLines,
  formatPointer,
  initObject,
  newTaintState,
  objectErr,
  setOrigSize,
  setTrack,
  setupObjectDebug,
  setupSlabDebug,
  slabErr,
  slabFix,
  slabPadCheck,
  traceObject,
} from './slub_debug';
import { StackDepot } from './stackdepot';
import { EventKind } from '../trace/events';

/** What a slub_debug event's `size` field says happened (the kernel's report title). */
export enum SlubReport {
  /** check_object() found bytes or a free pointer that are not what they should be. */
  ObjectCorrupt = 1,
  /** free_consistency_checks(): on_freelist() found the object already free. */
  AlreadyFree,
  /** slab_pad_check(): the slab's padding after the last object was written. */
  SlabPadding,
  /** on_freelist(): the slab's counters disagree with its freelist. */
  SlabCounters,
}

/** Fake text addresses for the tracks' callers: one per scenario line, resolved back by symbol(). */
const TEXT_BASE = 0xffffffff81000000n;

/*
 * The 6.12 call paths that reach a report, innermost first, from the function that called the check or report
 * (check_object(), object_err(), slab_err(), slab_pad_check(), trace()) up to, not including, the API the
 * scenario called. They hold the frames dump_stack() prints: functions declared inline, __always_inline or
 * __fastpath_inline are folded into their callers and have none (slab_free, do_slab_free, slab_alloc_node,
 * __slab_alloc_node, __do_kmalloc_node, free_debug_processing, free_consistency_checks,
 * alloc_consistency_checks); every other function on the path has one.
 */
/** kfree()/kmem_cache_free() -> slab_free() -> do_slab_free() -> __slab_free() (a debug cache never has a
 * cpu slab) -> free_to_partial_list() (noinline) -> free_debug_processing() -> free_consistency_checks(). */
const FREE_PATH = ['free_to_partial_list', '__slab_free'];
/** __kmalloc_noprof()/kmem_cache_alloc_noprof() -> slab_alloc_node() -> __slab_alloc_node() -> __slab_alloc()
 * -> ___slab_alloc() -> get_partial() -> get_partial_node() -> alloc_single_from_partial() ->
 * alloc_debug_processing() (noinline) -> alloc_consistency_checks(). */
const ALLOC_PARTIAL_PATH = [
  'alloc_debug_processing',
  'alloc_single_from_partial',
  'get_partial_node',
  'get_partial',
  '___slab_alloc',
  '__slab_alloc',
];
/** The same from a slab new_slab() just made: ___slab_alloc() -> alloc_single_from_new_slab(). */
const ALLOC_NEW_PATH = ['alloc_debug_processing', 'alloc_single_from_new_slab', '___slab_alloc', '__slab_alloc'];
/** validate_slab_cache() (exported; KUnit and the sysfs validate file call it) -> validate_slab_node() ->
 * validate_slab() -> on_freelist() and check_object(). */
const VALIDATE_PATH = ['validate_slab', 'validate_slab_node', 'validate_slab_cache'];
/** kmem_cache_shrink() (mm/slab_common.c) -> __kmem_cache_shrink() -> __kmem_cache_do_shrink() -> free_slab(). */
const SHRINK_PATH = ['__kmem_cache_do_shrink', '__kmem_cache_shrink', 'kmem_cache_shrink'];
/** kmem_cache_destroy() (mm/slab_common.c; no shutdown_cache() in 6.12) -> __kmem_cache_shutdown() ->
 * free_partial() -> discard_slab() -> free_slab(). */
const SHUTDOWN_PATH = ['discard_slab', 'free_partial', '__kmem_cache_shutdown', 'kmem_cache_destroy'];

export class SlubDebugger implements SlubDebugHooks {
  /** The kernel's taint (TAINT_BAD_PAGE after the first report), shared by all reports. */
  readonly taint: TaintState = newTaintState();
  /** Reports printed so far. */
  reports = 0;
  /** orig_size of the allocation in progress (kmalloc's request; object_size otherwise). */
  origSize = 0;
  /** The API the allocation or free in progress came through, for the track's stack and a report's (api()). */
  entry = 'kmem_cache_alloc_noprof';
  /** The slab newSlab() just set up: the allocation that follows takes from it (alloc_single_from_new_slab). */
  private freshSlab = -1;
  /** The last free that passed its checks, to tell free_to_partial_list()'s free_slab() from a shrink's. */
  private lastFree = { slab: -1, line: 0, events: -1 };
  private readonly layouts = new Map<number, SlubDebugLayout>();
  private readonly depot = new StackDepot();
  private readonly mem: DebugMemory;

  constructor(private readonly machine: Machine) {
    // Reads see free pointers in place (hex dumps); writes, fills and scans work on the bytes directly, as
    // the areas debugging writes and checks never hold a free pointer (slub_debug.ts moves it out of them).
    this.mem = {
      read: (addr, len) => machine.readMemory(addr, len),
      write: (addr, bytes) => machine.mem.write(addr, bytes),
      fill: (addr, len, value) => machine.mem.fill(addr, len, value),
      scan: (addr, len, value) => machine.mem.scan(addr, len, value),
    };
  }

  /** A debug cache's full layout, kept when the cache is created. */
  register(cache: KmemCache, layout: SlubDebugLayout): void {
    this.layouts.set(cache.id, layout);
  }

  layoutOf(cache: KmemCache): SlubDebugLayout | undefined {
    return this.layouts.get(cache.id);
  }

  newSlab(cache: KmemCache, slab: Slab): void {
    const layout = this.layoutOf(cache);
    if (!layout) return;
    const g = cache.geometry;
    setupSlabDebug(this.mem, layout, slab.head * PAGE_SIZE, PAGE_SIZE << g.order);
    for (let i = 0; i < g.objects; i++) setupObjectDebug(this.mem, layout, this.objectAt(cache, slab, i));
    this.freshSlab = slab.head;
  }

  alloc(cache: KmemCache, slab: Slab, index: number): boolean {
    const layout = this.layoutOf(cache);
    if (!layout) return true;
    const object = this.objectAt(cache, slab, index);
    const path = [...(this.freshSlab === slab.head ? ALLOC_NEW_PATH : ALLOC_PARTIAL_PATH), this.api(cache, 'alloc')];
    this.freshSlab = -1;
    if (cache.flags & SLAB_CONSISTENCY_CHECKS && !this.check(cache, slab, layout, object, SLUB_RED_INACTIVE, path)) {
      // alloc_debug_processing()'s bad: the slab's remaining objects are given up.
      slabFix(this.context(cache, slab, path), 'Marking all objects used');
      return false;
    }
    if (cache.flags & SLAB_TRACE) traceObject(this.context(cache, slab, path), this.mem, layout, object, true);
    setOrigSize(this.mem, layout, object, cache.flags & SLAB_KMALLOC ? this.origSize : layout.objectSize);
    initObject(this.mem, layout, object, SLUB_RED_ACTIVE);
    if (cache.flags & SLAB_STORE_USER) setTrack(this.mem, layout, object, TRACK_ALLOC, this.track(cache, 'alloc'));
    return true;
  }

  free(cache: KmemCache, slab: Slab, head: number, tail: number, cnt: number): boolean {
    const layout = this.layoutOf(cache);
    if (!layout) return true;
    const path = this.freePath(cache);
    for (let i = head, n = 0; n < cnt && i >= 0; n++) {
      const object = this.objectAt(cache, slab, i);
      if (cache.flags & SLAB_CONSISTENCY_CHECKS && !this.check(cache, slab, layout, object, SLUB_RED_ACTIVE, path)) {
        slabFix(this.context(cache, slab, path), `Object at 0x${formatPointer(this.machine.virt(object))} not freed`);
        return false;
      }
      if (cache.flags & SLAB_STORE_USER) setTrack(this.mem, layout, object, TRACK_FREE, this.track(cache, 'free'));
      if (cache.flags & SLAB_TRACE) traceObject(this.context(cache, slab, path), this.mem, layout, object, false);
      initObject(this.mem, layout, object, SLUB_RED_INACTIVE);
      if (i === tail) break;
      i = slab.fp[i]!;
    }
    const m = this.machine;
    this.lastFree = { slab: slab.head, line: m.line, events: m.events.length };
    return true;
  }

  /** free_slab() of 6.12 (SLAB_CONSISTENCY_CHECKS): slab_pad_check(), then check_object() of every object. */
  discard(cache: KmemCache, slab: Slab): void {
    const layout = this.layoutOf(cache);
    if (!layout || !(cache.flags & SLAB_CONSISTENCY_CHECKS)) return;
    const g = cache.geometry;
    const base = slab.head * PAGE_SIZE;
    const path = ['free_slab', ...this.discardCause(cache, slab)];
    const pad = slabPadCheck(this.mem, layout, base, PAGE_SIZE << g.order, this.context(cache, slab, path));
    if (!pad.ok) this.reported(cache, base + g.objects * g.size, SlubReport.SlabPadding);
    for (let i = 0; i < g.objects; i++) {
      this.check(cache, slab, layout, this.objectAt(cache, slab, i), SLUB_RED_INACTIVE, path);
    }
  }

  /**
   * Who is freeing the slab: free_to_partial_list() when the free that passed its checks just now (same slab,
   * same line, no event since) emptied it, else __kmem_cache_shutdown() when the cache's last reference is
   * going (kmem_cache_destroy() has dropped it to 0), else __kmem_cache_do_shrink().
   */
  private discardCause(cache: KmemCache, slab: Slab): readonly string[] {
    const m = this.machine;
    const f = this.lastFree;
    if (f.slab === slab.head && f.line === m.line && f.events === m.events.length) return this.freePath(cache);
    return cache.refcount === 0 ? SHUTDOWN_PATH : SHRINK_PATH;
  }

  /** check_object() with its report; a failure is also a slub_debug event. `path`: see context(). */
  private check(
    cache: KmemCache,
    slab: Slab,
    layout: SlubDebugLayout,
    object: number,
    val: number,
    path: readonly string[],
  ): boolean {
    const r = checkObject(this.mem, layout, object, val, {
      freePointer: this.freePointerOps(cache, slab),
      report: this.context(cache, slab, path),
    });
    if (!r.ok) this.reported(cache, object, SlubReport.ObjectCorrupt);
    return r.ok;
  }

  /**
   * free_consistency_checks()'s on_freelist(): a free of an object that is already free, in a cache with
   * SLAB_CONSISTENCY_CHECKS, is reported ("Object already free") and not done; the kernel goes on.
   */
  alreadyFree(cache: KmemCache, slab: Slab, index: number): void {
    const layout = this.layoutOf(cache)!;
    const object = this.objectAt(cache, slab, index);
    // free_debug_processing() -> free_consistency_checks() -> object_err(), inline in free_to_partial_list().
    const ctx = this.context(cache, slab, this.freePath(cache));
    objectErr(ctx, this.mem, layout, object, 'Object already free', this.freePointerOps(cache, slab));
    slabFix(ctx, `Object at 0x${formatPointer(this.machine.virt(object))} not freed`);
    this.reported(cache, object, SlubReport.AlreadyFree);
  }

  /**
   * validate_slab_cache() (what writing 1 to /sys/kernel/slab/<cache>/validate does): flush the CPUs, then
   * check every object of every node-partial slab (and every full slab when SLAB_STORE_USER keeps a full
   * list), a free one as free (SLUB_RED_INACTIVE), an allocated one as in use, up to the first bad object
   * of each slab. Returns the reports it printed.
   */
  validate(cache: KmemCache): number {
    const slub = this.machine.slub;
    for (let cpu = 0; cpu < cache.cpuSlab.length; cpu++) slub.flushCpu(cache, cpu);
    const layout = this.layoutOf(cache);
    if (!layout) return 0;
    const before = this.reports;
    const partial = slub.partialSlabs(cache);
    const onPartial = new Set(partial);
    const full =
      cache.flags & SLAB_STORE_USER
        ? [...slub.slabs.values()].filter((s) => s.cache === cache.id && !onPartial.has(s.head)).map((s) => s.head)
        : [];
    for (const head of [...partial, ...full]) {
      const slab = slub.slabAt(head);
      if (!slab) continue;
      this.onFreelist(cache, slab, layout);
      for (let i = 0; i < cache.geometry.objects; i++) {
        const val = isAllocated(slab.fp[i]!) ? SLUB_RED_ACTIVE : SLUB_RED_INACTIVE;
        if (!this.check(cache, slab, layout, this.objectAt(cache, slab, i), val, VALIDATE_PATH)) break;
      }
    }
    return this.reports - before;
  }

  /**
   * on_freelist(s, slab, NULL) of 6.12: walks the slab freelist; a link that is no object of the slab ends it
   * ("Freechain corrupt" on the object holding it, whose pointer becomes NULL), then the slab's in-use counter
   * must equal the objects not on the list ("Wrong object count", adjusted).
   */
  private onFreelist(cache: KmemCache, slab: Slab, layout: SlubDebugLayout): void {
    const objects = cache.geometry.objects;
    const ctx = this.context(cache, slab, ['on_freelist', ...VALIDATE_PATH]);
    let nr = 0;
    for (let i = slab.freelist, guard = 0; i >= 0 && guard <= objects; guard++) {
      const next = slab.fp[i]!;
      nr++;
      if (next !== FREE_END && (next < 0 || next >= objects)) {
        // check_valid_pointer() of the next pointer failed: memory holds a word that is no object here.
        const object = this.objectAt(cache, slab, i);
        objectErr(ctx, this.mem, layout, object, 'Freechain corrupt', this.freePointerOps(cache, slab));
        slab.fp[i] = FREE_END; // set_freepointer(s, object, NULL)
        this.reported(cache, object, SlubReport.ObjectCorrupt);
        break;
      }
      i = next;
    }
    if (slab.inuse !== objects - nr) {
      slabErr(ctx, `Wrong object count. Counter is ${slab.inuse} but counted were ${objects - nr}`);
      slab.inuse = objects - nr;
      slabFix(ctx, 'Object count adjusted');
      this.reported(cache, slab.head * PAGE_SIZE, SlubReport.SlabCounters);
    }
  }

  /** Symbols of the fake caller addresses (%pS). */
  symbol(addr: bigint): string {
    const line = Number(addr - TEXT_BASE) >> 8;
    return addr >= TEXT_BASE && line >= 0 ? `line_${line}+0x0/0x1 [scenario]` : `0x${addr.toString(16)}`;
  }

  private reported(cache: KmemCache, object: number, what: SlubReport): void {
    this.reports++;
    this.machine.recordReport(EventKind.SlubDebug, cache.id, object, what);
  }

  private objectAt(cache: KmemCache, slab: Slab, index: number): number {
    const g = cache.geometry;
    return slab.head * PAGE_SIZE + index * g.size + g.redLeftPad;
  }

  /** The fake text address of the scenario line in progress, the caller of every allocator entry. */
  private caller(): bigint {
    return TEXT_BASE + (BigInt(Math.max(0, this.machine.line)) << 8n);
  }

  /**
   * The API the allocation (side 'alloc') or free in progress came through: `entry` as the machine set it, or,
   * when it names the other side (the bulk calls leave it as it was), what the cache takes: kmalloc and kfree
   * for kmalloc caches, kmem_cache_alloc and kmem_cache_free for the others (as callpath.ts names them).
   */
  private api(cache: KmemCache, side: 'alloc' | 'free'): string {
    if (this.entry.endsWith('_noprof') === (side === 'alloc')) return this.entry;
    const kmalloc = (cache.flags & SLAB_KMALLOC) !== 0;
    if (side === 'alloc') return kmalloc ? '__kmalloc_noprof' : 'kmem_cache_alloc_noprof';
    return kmalloc ? 'kfree' : 'kmem_cache_free';
  }

  /** The path of a free of a debug cache (FREE_PATH) and its API. */
  private freePath(cache: KmemCache): readonly string[] {
    return [...FREE_PATH, this.api(cache, 'free')];
  }

  /** The track of the call in progress: its line, a stack of the API and the line, CPU, pid and time. */
  private track(cache: KmemCache, side: 'alloc' | 'free') {
    const caller = this.caller();
    const handle = this.depot.save([`${this.api(cache, side)}+0x0/0x0`, this.symbol(caller)]);
    return {
      addr: caller,
      handle,
      cpu: this.machine.cpu,
      pid: this.machine.pid,
      when: BigInt(this.machine.events.length),
    };
  }

  /**
   * The report context of a slab; what only a report prints is computed when it prints (getters). `path`: the
   * kernel functions from the report's caller up to the API the scenario called, innermost first, for the
   * stack dump_stack() prints (the paths above).
   */
  private context(cache: KmemCache, slab: Slab, path: readonly string[] = []): SlubReportContext {
    const m = this.machine;
    const g = cache.geometry;
    const objectAt = (i: number) => this.objectAt(cache, slab, i);
    return {
      cacheName: cache.name,
      taint: this.taint,
      printk: (line) => m.printk(`${line}\n`),
      slabBase: slab.head * PAGE_SIZE,
      get slab() {
        const zone = m.buddy.zoneOf(slab.head);
        const flagNames = [...(g.order > 0 ? ['head'] : []), 'node=0', `zone=${zone}`];
        const flagWord = (BigInt(zone) << 62n) | (g.order > 0 ? 1n << 6n : 0n); // PG_head is bit 6
        return {
          address: m.arch.vmemmapStart + BigInt(slab.head) * 64n,
          objects: g.objects,
          inuse: slab.inuse,
          freelist: slab.freelist >= 0 ? m.virt(objectAt(slab.freelist)) : 0n,
          flags: `0x${flagWord.toString(16)}(${flagNames.join('|')})`,
        };
      },
      get jiffies() {
        return BigInt(m.events.length);
      },
      symbol: (addr) => this.symbol(addr),
      stack: (handle) => this.depot.fetch(handle),
      virt: (phys) => m.virt(phys),
      // dump_stack() while the report runs: the taint is the one before its add_taint(). Hard and soft
      // interrupts (HARDIRQ_MASK 0xf0000, SOFTIRQ_OFFSET 0x100) run on the IRQ stack, as context.ts shows.
      dumpStack: (callers) =>
        dumpStackLines(
          dumpStackHeader(m.cpu, m.pid, m.comm, this.taint.mask),
          [...callers, ...path],
          this.symbol(this.caller()),
          m.context.preemptCount & (0xf0000 | 0x100) ? 'IRQ' : 'TASK',
        ),
    };
  }

  /** get_freepointer() and check_valid_pointer() over the slab's index lists (slub.ts Slab.fp). */
  private freePointerOps(cache: KmemCache, slab: Slab): FreePointerOps {
    const g = cache.geometry;
    const base = slab.head * PAGE_SIZE + g.redLeftPad;
    const indexOf = (object: number) => Math.round((object - base) / g.size);
    const m = this.machine;
    return {
      get: (object) => {
        const v = slab.fp[indexOf(object)];
        if (v === undefined || v === FREE_END) return 0n;
        if (v >= 0) return m.virt(base + v * g.size);
        if (v <= OBJ_STALE_END) {
          const next = OBJ_STALE_END - 1 - v;
          return next === FREE_END ? 0n : m.virt(base + next * g.size);
        }
        // OBJ_ALLOCATED (or a marker for a word that does not decode): memory holds the word.
        return m.freePointerAt(cache, object + g.offset);
      },
      valid: (ptr) => {
        const phys = m.phys(ptr);
        if (phys === undefined) return false;
        const off = phys - base;
        return off >= 0 && off % g.size === 0 && off / g.size < g.objects;
      },
      setNull: (object) => {
        const i = indexOf(object);
        if (i >= 0 && i < g.objects && !isAllocated(slab.fp[i]!)) slab.fp[i] = FREE_END;
      },
    };
  }
}
