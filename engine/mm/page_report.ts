/*
 * The page allocator's reports, in the kernel's words: pure functions from plain data to text, so the exact
 * lines can be pinned by tests against the format strings they copy (Linux 6.12).
 *
 * An allocation failure (mm/page_alloc.c warn_alloc(), called from __alloc_pages_slowpath() with
 * "page allocation failure: order:%u"):
 *
 *   pr_warn("%s: %pV, mode:%#x(%pGg), nodemask=%*pbl", current->comm, &vaf, gfp_mask, &gfp_mask,
 *           nodemask_pr_args(nodemask));
 *
 * With no nodemask %*pbl prints "(null)". The kernel then adds cpuset_print_current_mems_allowed()
 * (",cpuset=...,mems_allowed=0" with CONFIG_CPUSETS), dump_stack() and warn_alloc_show_mem() → __show_mem()
 * → show_free_areas(). Of all that the emulator prints only the free-area line of each populated zone up to
 * gfp_zone(gfp_mask) (mm/show_mem.c):
 *
 *   show_node(zone);                          "Node %d " (CONFIG_NUMA, as x86-64 distribution kernels build)
 *   printk(KERN_CONT "%s: ", zone->name);
 *   for each order: printk(KERN_CONT "%lu*%lukB ", nr[order], K(1UL) << order);
 *                   if (nr[order]) show_migration_types(types[order]);     "(UME) "
 *   printk(KERN_CONT "= %lukB\n", K(total));
 *
 * After a non-zero count come the letters of the migrate types with blocks of that order (show_migration_types:
 * U Unmovable, M Movable, E Reclaimable, H HighAtomic, C CMA, I Isolate). The cpuset suffix, the stack,
 * "Mem-Info:" and the per-zone watermark lines are left out. The
 * kernel rate-limits warn_alloc() to one report per 10 s; the emulator has no clock and reports every
 * failure (hosts cap what they keep: Machine.log).
 *
 * A refused free (mm/page_alloc.c bad_page()):
 *
 *   pr_alert("BUG: Bad page state in process %s  pfn:%05lx\n", current->comm, page_to_pfn(page));
 *   dump_page(page, reason);                  mm/debug.c: "page dumped because: %s\n" when reason is set
 *
 * The emulator prints those two lines (not the rest of dump_page(): the struct page fields, flags and raw
 * words, nor the module list and stack), then one line of its own, starting "kmem: ", that says in plain
 * words what was wrong. Which reason goes with which mistake is Machine.freePages's business (machine.ts).
 */

import { NR_PAGE_ORDERS, PAGE_SIZE } from './config';
import { formatGfpFlags } from './gfp';

/** One populated zone as show_free_areas() reads it. */
export interface ZoneFreeArea {
  /** zone->name: DMA, DMA32, Normal. */
  readonly name: string;
  /** zone_idx(): the zone's position in the node (ZoneType). */
  readonly index: number;
  /** free_area[order].nr_free for order 0..10. */
  readonly nrFree: readonly number[];
  /** Per order, a bitmask of the migrate types with a non-empty free list (bit mt); absent: no letters. */
  readonly types?: readonly number[];
}

export interface PageAllocFailure {
  /** current->comm. */
  readonly comm: string;
  readonly order: number;
  readonly gfp: number;
  /** The populated zones of node 0, lowest first. */
  readonly zones: readonly ZoneFreeArea[];
  /** gfp_zone(gfp): show_free_areas() skips zones above it. */
  readonly maxZoneIndex: number;
}

/** lib/vsprintf.c number() with "%#x": 0x and lowercase hex digits (the kernel prints 0 as 0x0, unlike glibc). */
export function formatHexSpecial(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** "mode:%#x(%pGg)": the GFP mask as warn_alloc prints it, e.g. 0xcc0(GFP_KERNEL). */
export function formatGfpMode(gfp: number): string {
  return `${formatHexSpecial(gfp)}(${formatGfpFlags(gfp)})`;
}

const MIGRATE_LETTERS = 'UMEHCI';

/** show_migration_types(): "(UM) " for a bitmask of migrate types. */
export function formatMigrationTypes(mask: number): string {
  let out = '';
  for (let i = 0; i < MIGRATE_LETTERS.length; i++) if (mask & (1 << i)) out += MIGRATE_LETTERS[i];
  return `(${out}) `;
}

/** show_free_areas(): "Node 0 DMA: 0*4kB 1*8kB (M) ... = 15360kB". */
export function formatZoneFreeArea(zone: ZoneFreeArea, node = 0): string {
  let line = `Node ${node} ${zone.name}: `;
  let totalPages = 0;
  for (let order = 0; order < NR_PAGE_ORDERS; order++) {
    const n = zone.nrFree[order] ?? 0;
    totalPages += n * 2 ** order;
    line += `${n}*${(PAGE_SIZE / 1024) * 2 ** order}kB `;
    if (n && zone.types) line += formatMigrationTypes(zone.types[order] ?? 0);
  }
  return `${line}= ${(totalPages * PAGE_SIZE) / 1024}kB`;
}

/** warn_alloc("page allocation failure: order:%u", order) and the free areas it shows, one line each. */
export function formatPageAllocFailure(f: PageAllocFailure): string {
  const lines = [`${f.comm}: page allocation failure: order:${f.order}, mode:${formatGfpMode(f.gfp)}, nodemask=(null)`];
  for (const zone of f.zones) {
    if (zone.index > f.maxZoneIndex) continue;
    lines.push(formatZoneFreeArea(zone));
  }
  return lines.join('\n') + '\n';
}

/**
 * __alloc_pages_noprof(): `if (WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER, gfp)) return NULL;`. The kernel's
 * __warn() prints the cut line and "WARNING: CPU: %d PID: %d at %s:%d %pS" with a source line and symbol
 * offset the model does not have: the emulator prints the cut line, the CPU, the file and the function,
 * and names the condition.
 */
export function formatOrderWarning(cpu: number, order: number, maxOrder: number): string {
  return (
    `------------[ cut here ]------------\n` +
    `WARNING: CPU: ${cpu} at mm/page_alloc.c __alloc_pages_noprof: order:${order} > MAX_PAGE_ORDER (${maxOrder})\n`
  );
}

export interface BadPage {
  readonly comm: string;
  /** page_to_pfn() of the page dumped. */
  readonly pfn: number;
  /** dump_page()'s reason, or undefined when the kernel has none (no "page dumped because" line). */
  readonly reason?: string;
  /** The emulator's own plain-words line, printed after the kernel's, starting "kmem: ". */
  readonly note: string;
}

/** "BUG: Bad page state in process %s  pfn:%05lx" (two spaces before pfn, as bad_page() prints it). */
export function badPageHeader(comm: string, pfn: number): string {
  return `BUG: Bad page state in process ${comm}  pfn:${pfn.toString(16).padStart(5, '0')}`;
}

/** bad_page() + dump_page()'s reason line + the emulator's note. */
export function formatBadPage(b: BadPage): string {
  const lines = [badPageHeader(b.comm, b.pfn)];
  if (b.reason !== undefined) lines.push(`page dumped because: ${b.reason}`);
  lines.push(`kmem: ${b.note}`);
  return lines.join('\n') + '\n';
}

/** What the OOM killer saw (mm/oom_kill.c dump_header, oom_kill_process). */
export interface OomReport {
  readonly comm: string;
  readonly gfp: number;
  readonly order: number;
  /** The victim: pid, name, and its memory in kB; undefined when no task could be killed. */
  readonly victim?: {
    readonly pid: number;
    readonly comm: string;
    readonly totalVmKb: number;
    readonly anonRssKb: number;
    readonly pgtablesKb: number;
  };
}

/**
 * The OOM killer's lines: dump_header()'s first line ("%s invoked oom-killer: gfp_mask=%#x(%pGg), order=%d,
 * oom_score_adj=%hd"), then either __oom_kill_process()'s "Out of memory: Killed process %d (%s)
 * total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB, UID:%u pgtables:%lukB oom_score_adj:%hd"
 * or, with no killable task, out_of_memory()'s "Out of memory and no killable processes..." and the panic
 * "Kernel panic - not syncing: System is deadlocked on memory". The stack, Mem-Info and the task list that
 * dump_header() also prints are left out.
 */
export function formatOom(r: OomReport): string {
  const lines = [`${r.comm} invoked oom-killer: gfp_mask=${formatGfpMode(r.gfp)}, order=${r.order}, oom_score_adj=0`];
  if (r.victim) {
    const v = r.victim;
    lines.push(
      `Out of memory: Killed process ${v.pid} (${v.comm}) total-vm:${v.totalVmKb}kB, anon-rss:${v.anonRssKb}kB, ` +
        `file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:${v.pgtablesKb}kB oom_score_adj:0`,
    );
  } else {
    lines.push('Out of memory and no killable processes...');
    lines.push('Kernel panic - not syncing: System is deadlocked on memory');
  }
  return lines.join('\n') + '\n';
}
