/*
 * KFENCE on the machine (CONFIG_KFENCE, Linux 6.12 mm/kfence/), with kfence.ts supplying the pool, the
 * sampling gate and the reports.
 *
 *   boot        kfence_alloc_pool_and_metadata(): memblock gives the 2 MiB pool (255 objects, each page
 *               beside a guard page) just below the early page tables; it stays out of the buddy allocator
 *   allocation  slab_alloc_node() asks kfence_alloc() first: when the gate is open (once per
 *               kfence.sample_interval ms of the machine's clock, msleep() lets it pass) the object comes
 *               from the pool, at the start or the end of its page, the rest of the page a canary
 *   free        kfree()/kmem_cache_free() of a pool address is __kfence_free(): an invalid free (a double
 *               free, an interior pointer) is reported; the canary is checked (memory corruption); the
 *               object's page is protected, so a later access is a use-after-free
 *   access      the scenario's loads and stores into a protected page fault: out-of-bounds on a guard page
 *               (blaming the nearer allocated neighbour), use-after-free on a freed object's page. As in
 *               the kernel the fault handler unprotects the page and the access goes on
 *
 * The pool's bytes are kept by the pool (kfence.ts); the machine's memory calls route pool addresses there.
 * Randomness (left or right placement) comes from the machine's seeded generator, so runs are deterministic. Every
 * report goes to the log in the kernel's words, with raw addresses (as with no_hash_pointers), and is a kfence
 * event. Not modelled: KFENCE's splitting of the direct map into 4 KiB pages (the kernel page table still maps
 * the pool with large pages), the alloc-covered filter's exact hash, kfence.check_on_panic.
 */

import { PAGE_SIZE } from './config';
import type { Machine } from './machine';
import type { KmemCache } from './slub';
import { SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_TYPESAFE_BY_RCU } from './slub';
import {
  KFENCE_POOL_SIZE,
  KfenceErrorType,
  KfencePool,
  KfenceReport,
  KfenceReportContext,
  KfenceSampler,
  KfenceTrackInfo,
} from './kfence';
import { TAINT_BAD_PAGE, dumpStackHeader } from './slub_debug';
import { EventKind } from '../trace/events';

/** What a kfence event's `size` field says: the report's kind. */
export enum KfenceBug {
  OutOfBounds = 1,
  UseAfterFree,
  MemoryCorruption,
  InvalidFree,
  InvalidAccess,
}

export const KFENCE_BUG_NAMES: Readonly<Record<KfenceBug, string>> = {
  [KfenceBug.OutOfBounds]: 'out-of-bounds',
  [KfenceBug.UseAfterFree]: 'use-after-free',
  [KfenceBug.MemoryCorruption]: 'memory corruption',
  [KfenceBug.InvalidFree]: 'invalid free',
  [KfenceBug.InvalidAccess]: 'invalid access',
};

const BUG_OF_TYPE: Readonly<Record<KfenceErrorType, KfenceBug>> = {
  'out-of-bounds': KfenceBug.OutOfBounds,
  'use-after-free': KfenceBug.UseAfterFree,
  'memory-corruption': KfenceBug.MemoryCorruption,
  'invalid-free': KfenceBug.InvalidFree,
  invalid: KfenceBug.InvalidAccess,
};

export class KfenceRuntime {
  readonly pool: KfencePool;
  readonly sampler: KfenceSampler;
  /** Reports made. */
  reports = 0;

  constructor(
    private readonly machine: Machine,
    /** The pool's first physical byte (memblock's choice at boot). */
    readonly poolPhys: number,
    sampleIntervalMs: number,
  ) {
    this.pool = new KfencePool({ base: machine.virt(poolPhys), random: () => machine.random() });
    this.sampler = new KfenceSampler(this.pool, { sampleIntervalMs, startMs: 0 });
  }

  /** Whether phys lies in the pool. */
  contains(phys: number): boolean {
    return phys >= this.poolPhys && phys < this.poolPhys + KFENCE_POOL_SIZE;
  }

  /** kfence_alloc() of slab_alloc_node(): the pool object's physical address, or undefined (not sampled). */
  alloc(cache: KmemCache, size: number, gfp: number): number | undefined {
    const m = this.machine;
    // kfence_alloc()'s inline test: the gate is closed for all but one allocation per interval.
    if (!this.sampler.gateOpen(m.uptimeMs)) return undefined;
    const virt = this.sampler.alloc(
      {
        size,
        gfp,
        cache: {
          name: cache.name,
          align: cache.geometry.align,
          dma: (cache.flags & (SLAB_CACHE_DMA | SLAB_CACHE_DMA32)) !== 0,
          typesafeByRcu: (cache.flags & SLAB_TYPESAFE_BY_RCU) !== 0,
        },
        track: this.track(),
      },
      m.uptimeMs,
    );
    return virt === undefined ? undefined : m.phys(virt);
  }

  /** __kfence_free() of a pool address (the caller checked contains()): reports, if any, are printed. */
  free(phys: number): void {
    const m = this.machine;
    const info = { ...this.track(), footer: this.footer() };
    const r = this.pool.free(m.virt(phys), info);
    for (const report of r.reports) this.emit(report, phys);
    if (r.status === 'not-object-page') {
      // A guard page is no object: the kernel's kfree() would crash on it; report it as an invalid free.
      this.emitInvalidFree(phys);
    }
    // A SLAB_TYPESAFE_BY_RCU object waits for a grace period; the emulator's passes at once.
    if (r.status === 'rcu-pending') {
      for (const report of this.pool.runRcuCallbacks(this.context())) this.emit(report, phys);
    }
  }

  private emitInvalidFree(phys: number): void {
    this.reports++;
    const m = this.machine;
    m.printk(`BUG: KFENCE: invalid free in line_${m.line}+0x0/0x1 [scenario]\n`);
    m.recordReport(EventKind.Kfence, -1, phys, KfenceBug.InvalidFree);
  }

  /** ksize() of a pool object (meta->size), or undefined when phys is not an allocated object's start. */
  ksize(phys: number): number | undefined {
    const virt = this.machine.virt(phys);
    return this.pool.objectStart(virt) === virt ? this.pool.ksize(virt) : undefined;
  }

  /** A load or store of len bytes at virt: the faults it takes are reported; the access then goes on. */
  check(virt: bigint, len: number, write: boolean): void {
    for (let r = this.pool.checkAccess(virt, len, write, this.context()); r; r = r.next) {
      this.emit(r, this.machine.phys(r.address) ?? 0);
    }
  }

  /** Pool bytes by physical address. */
  read(phys: number, len: number): Uint8Array {
    return this.pool.read(this.machine.virt(phys), len) ?? new Uint8Array(len);
  }

  write(phys: number, bytes: Uint8Array): void {
    this.pool.write(this.machine.virt(phys), bytes);
  }

  /** The machine's time and the access's stack, for a report. */
  private context(): KfenceReportContext {
    return {
      nowNsec: this.machine.uptimeMs * 1e6,
      stack: [`line_${this.machine.line}+0x0/0x1 [scenario]`],
      footer: this.footer(),
    };
  }

  private footer(): string[] {
    const m = this.machine;
    return dumpStackHeader(m.cpu, m.pid, m.comm, m.slubDebug.taint.mask);
  }

  /**
   * A track of the call in progress. KFENCE's stacks start at the allocator's caller: get_stack_skipnr() skips
   * kfence's own frames and falls back past kfree/kmem_cache_free/__kmalloc/kmem_cache_alloc, so the first line
   * (and the report's "in <function>") is the scenario line.
   */
  private track(): KfenceTrackInfo {
    const m = this.machine;
    return { pid: m.pid, cpu: m.cpu, tsNsec: m.uptimeMs * 1e6, stack: [`line_${m.line}+0x0/0x1 [scenario]`] };
  }

  private emit(report: KfenceReport, phys: number): void {
    const m = this.machine;
    this.reports++;
    for (const line of report.lines) m.printk(`${line}\n`);
    // kfence_report_error(): add_taint(TAINT_BAD_PAGE, LOCKDEP_STILL_OK): tainted, lock debugging stays on.
    m.slubDebug.taint.mask |= 1 << TAINT_BAD_PAGE;
    m.recordReport(EventKind.Kfence, -1, phys, BUG_OF_TYPE[report.type]);
  }
}

/** Where memblock puts the pool: KFENCE_POOL_SIZE bytes, page aligned, just below `below` (a pfn). */
export function kfencePoolPfn(below: number): number {
  return below - KFENCE_POOL_SIZE / PAGE_SIZE;
}
