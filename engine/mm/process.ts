/*
 * Tasks and their user address spaces (kernel/fork.c, mm/mmap.c, mm/mprotect.c, mm/memory.c, mm/rmap.c,
 * mm/oom_kill.c, arch/x86/mm/fault.c; read in Linux 6.x sources, behaviour as of 6.12).
 *
 * A task has a pid, a comm (TASK_COMM_LEN = 16, so at most 15 characters), a kernel stack and an mm: a user
 * page table (PageTable.createUser: the kernel half is shared with init_mm) and a sorted list of VMAs. Every
 * mapping is anonymous and private (MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED_NOREPLACE); there are no files,
 * no shared memory, no swap, no huge pages.
 *
 * Life of an anonymous page (mm/memory.c):
 *
 *   not present --read fault--> the shared zero page, read-only (do_anonymous_page: "Use the zero-page for
 *        |                      reads"; no page is allocated, the VMA gets no anon_vma, RSS does not change)
 *        +------write fault---> a new page, GFP_HIGHUSER_MOVABLE | __GFP_ZERO, PG_anon | PG_lru, mapped
 *                               writable and dirty, exclusive to this mapping (RMAP_EXCLUSIVE)
 *   zero page --write fault--> wp_page_copy() with a zeroed page
 *   fork: every present anon page gets one more mapping and reference, both PTEs lose write permission and
 *         the page loses its exclusivity (copy_present_pte, folio_try_dup_anon_rmap_pte)
 *   read-only anon page --write fault--> do_wp_page(): reuse the page when it is exclusive or its refcount is
 *         1 (wp_can_reuse_anon_folio), else copy it to a new page (wp_page_copy) and drop one reference
 *   munmap / exit: each mapping drops its reference; the page goes back to the page allocator at zero.
 *
 * Counting: frames.refcount is page_count() of an anon page, and the reverse map (`rmap`: pfn -> the (task,
 * va) pairs that map it) holds its mapcount; for the model's anon pages they are always equal, since no one
 * pins pages (GUP). The zero page is a reserved frame inside the kernel image (empty_zero_page lives in the
 * kernel's .bss): it is in no rmap, has no reference to take, and counts in no RSS.
 *
 * VMAs are merged where the kernel merges them (vma_merge_new_range / vma_modify): adjacent, same protection,
 * and compatible anon_vmas (is_mergeable_anon_vma: the same one, or one side has none while the other's
 * anon_vma_chain is singular, i.e. not inherited over fork). anon_vma_prepare() reuses a neighbour's anon_vma
 * when the neighbour differs only in protection (find_mergeable_anon_vma), which is why mprotect() back to
 * the old protection merges the pieces again. A forked child's VMAs get their own anon_vma, chained to the
 * parent's (anon_vma_fork), and no longer merge with fresh mappings.
 *
 * Faults follow do_user_addr_fault(): a non-canonical address raises #GP; reserved bits are a corrupted page
 * table (pgtable_bad, the task is killed); an address with no VMA is SEGV_MAPERR; access_error() (x86: a
 * write needs VM_WRITE, a read of a present page is always an error, a not-present read needs any access
 * right; RISC-V: exec needs VM_EXEC, load needs read or write, store needs write) is SEGV_ACCERR; otherwise
 * handle_mm_fault() and the MMU retries. On x86 an instruction fetch from a not-present page of a readable
 * VMA without PROT_EXEC is handled first (the zero page gets mapped, NX) and only the retry, now a protection
 * fault, is refused, as on hardware. PROT_NONE PTEs (x86 _PAGE_PROTNONE: present to the kernel, not to the
 * MMU) are modelled as supervisor-only entries; the error code printed for them leaves out X86_PF_PROT, as
 * the hardware would see the entry not present.
 *
 * Segfault messages: x86 show_signal_msg() prints "%s[%d]: segfault at %lx ip %px sp %px error %lx", then
 * " in <file>[start+size]" for a file-backed ip (never here: all mappings are anonymous) and " likely on CPU
 * %d (core %d, socket %d)". The model executes no user instructions, so it has no ip or sp: both print as
 * 0000000000000000 (what %px prints for 0), except that an instruction fetch faults at its own ip, so ip is
 * the address there. The core is the CPU number and the socket 0 (one package). RISC-V prints do_trap()'s
 * "%s[%d]: unhandled signal %d code 0x%x at 0x%016lx" with the faulting address.
 *
 * pids: the first task gets pid 1, as the kernel's first user process (init); alloc_pid() hands out the next
 * pid after the last one (pids are never reused at once), wraps at pid_max (max(32768, 1024 * CPUs)) to
 * RESERVED_PIDS (300), and skips pids in use. pid 1 is init: the OOM killer never picks it
 * (oom_unkillable_task: is_global_init()).
 *
 * Left out: the per-CPU cache of two freed kernel stacks (kernel/fork.c NR_CACHED_STACKS), so exit() vfree()s
 * the stack at once; RCU-delayed task freeing; VM_GROWSDOWN stacks, brk, file and shared mappings, mlock, THP,
 * KSM, userfaultfd, soft-dirty; refcounts above 65535 (frames.refcount is 16-bit).
 */

import { PAGE_SIZE } from './config';
import { NO_PFN, PG_ANON, PG_LRU, PG_PGTABLE } from './frames';
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL, __GFP_ZERO } from './gfp';
import type { Machine } from './machine';
import { LOG_LIMIT } from './machine';
import {
  AccessKind,
  Leaf,
  PageFault,
  PageTable,
  PTE_PFN_MASK,
  Prot,
  SZ_4K,
  X86_PF_INSTR,
  X86_PF_PROT,
  X86_PF_USER,
  X86_PF_WRITE,
  EXC_INST_PAGE_FAULT,
  EXC_STORE_PAGE_FAULT,
} from './pgtable';
import { THREAD_ALIGN, THREAD_SIZE, VmArea, isVmallocError } from './vmalloc';
import { EventKind } from '../trace/events';

/** include/uapi/asm-generic/mman-common.h. */
export const PROT_NONE = 0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
const PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC;

/** include/linux/sched.h TASK_COMM_LEN: comm holds 15 characters and the NUL. */
export const TASK_COMM_LEN = 16;
/** include/linux/mm.h DEFAULT_MAX_MAP_COUNT = USHRT_MAX - MAPCOUNT_ELF_CORE_MARGIN (vm.max_map_count). */
export const DEFAULT_MAX_MAP_COUNT = 65530;
/** vm.mmap_min_addr: CONFIG_DEFAULT_MMAP_MIN_ADDR = 65536 on x86 and RISC-V distributions' configs. */
export const MMAP_MIN_ADDR = 0x10000n;
/** include/linux/threads.h PID_MAX_DEFAULT, RESERVED_PIDS, PIDS_PER_CPU_DEFAULT. */
export const PID_MAX_DEFAULT = 0x8000;
export const RESERVED_PIDS = 300;
export const PIDS_PER_CPU_DEFAULT = 1024;
/** include/uapi/asm-generic/siginfo.h: si_code of SIGSEGV. */
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const SIGSEGV = 11;

/** Pages of one kernel stack (THREAD_SIZE / PAGE_SIZE): meminfo's KernelStack counts these. */
export const THREAD_PAGES = THREAD_SIZE / PAGE_SIZE;

/** Stable codes of the errors the task operations return (pgtable.ts uses KM4201-KM4210). */
export const TASK_ERRORS = {
  /** EINVAL: unaligned, empty or out-of-range address range, or unknown PROT_ bits. */
  invalid: 'KM4220',
  /** EEXIST: MAP_FIXED_NOREPLACE over an existing mapping. */
  exists: 'KM4221',
  /** ENOMEM: out of memory, too many VMAs, or mprotect() over a hole. */
  noMemory: 'KM4222',
  /** ESRCH: the task has exited. */
  noTask: 'KM4223',
  /** EAGAIN: no free pid. */
  again: 'KM4224',
  /** EPERM: a fixed mapping below vm.mmap_min_addr. */
  permission: 'KM4225',
} as const;

export interface TaskError {
  readonly code: string;
  readonly message: string;
}

export function isTaskError(x: unknown): x is TaskError {
  return typeof x === 'object' && x !== null && 'code' in x && 'message' in x && !('pid' in x);
}

/** One vm_area_struct: [start, end), page-aligned, anonymous and private. */
export interface Vma {
  start: bigint;
  end: bigint;
  /** PROT_* bits (VM_READ, VM_WRITE, VM_EXEC have the same values). */
  prot: number;
  /** Identity of vma->anon_vma (0: none yet, anon_vma_prepare() not called). */
  anonVma: number;
  /** vma->anon_vma_chain is not singular: the anon_vma was inherited over fork (anon_vma_fork). */
  forked: boolean;
}

export class Task {
  /** /proc/PID/status's RssAnon in pages (MM_ANONPAGES): anon pages mapped, the zero page not counted. */
  anonRss = 0;
  alive = true;
  readonly vmas: Vma[] = [];

  constructor(
    readonly pid: number,
    readonly comm: string,
    /** The user page table: mm->pgd. */
    readonly mm: PageTable,
    /** The vmalloc'd kernel stack (THREAD_SIZE at THREAD_ALIGN). */
    readonly stack: VmArea,
  ) {}

  /** find_vma_intersection(): the VMA holding va. */
  findVma(va: bigint): Vma | undefined {
    const v = this.vmas;
    let lo = 0;
    let hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = v[mid]!;
      if (va < m.start) hi = mid - 1;
      else if (va >= m.end) lo = mid + 1;
      else return m;
    }
    return undefined;
  }

  /** mm->total_vm in pages. */
  get totalVmPages(): number {
    let n = 0n;
    for (const v of this.vmas) n += (v.end - v.start) / PAGE;
    return Number(n);
  }
}

/** What handle_mm_fault() did for one fault. */
export type FaultOutcome =
  /** do_anonymous_page(): a new zeroed page. */
  | 'demand-zero'
  /** do_anonymous_page() on a read: the shared zero page, read-only. */
  | 'zero-page'
  /** do_wp_page() -> wp_page_copy(): a new page with the old bytes (or zeros for the zero page). */
  | 'cow-copy'
  /** do_wp_page() -> wp_page_reuse(): the page was this mapping's alone; it becomes writable. */
  | 'cow-reuse';

export interface HandledFault {
  readonly outcome: FaultOutcome;
  /** The hardware's error code (x86) for the fault that was handled. */
  readonly errorCode: number;
  /** The frame mapped by the handler. */
  readonly pfn: number;
}

export type TaskAccessResult =
  | { readonly ok: true; readonly phys: number; readonly faults: readonly HandledFault[] }
  | {
      readonly ok: false;
      /** SIGSEGV: bad address or permission; SIGKILL: corrupted page table; oom: the fault could not get a page (VM_FAULT_OOM). */
      readonly kind: 'SIGSEGV' | 'SIGKILL' | 'oom';
      /** si_code for SIGSEGV (SEGV_MAPERR or SEGV_ACCERR), else 0. */
      readonly siCode: number;
      readonly errorCode: number;
      /** The kernel's log line (ending in a newline), also appended to machine.log. */
      readonly message: string;
      readonly faults: readonly HandledFault[];
    };

/** The numbers the OOM killer prints for its victim (formatOom in page_report.ts). */
export interface OomVictimInfo {
  readonly pid: number;
  readonly comm: string;
  readonly totalVmKb: number;
  readonly anonRssKb: number;
  readonly pgtablesKb: number;
}

/** One mapping of an anon page: the task and the user address. */
interface AnonMapping {
  readonly task: Task;
  readonly va: bigint;
}

/** The reverse map of one anon page: its mappings (mapcount = maps.length) and PageAnonExclusive. */
interface AnonPage {
  exclusive: boolean;
  readonly maps: AnonMapping[];
}

const PAGE = BigInt(PAGE_SIZE);
/** Fault outcome codes in PageFault events (extra). */
const OUTCOME_CODES: Record<FaultOutcome | 'segv' | 'oom' | 'kill', number> = {
  'demand-zero': 0,
  'zero-page': 1,
  'cow-copy': 2,
  'cow-reuse': 3,
  segv: 4,
  oom: 5,
  kill: 6,
};

export class TaskTable {
  /** Live tasks by pid, in creation order (for_each_process() walks them oldest first). */
  readonly tasks = new Map<number, Task>();
  /** The reverse map of every anon page: pfn -> its mappings. */
  readonly rmap = new Map<number, AnonPage>();
  /** Pages of all tasks' kernel stacks (NR_KERNEL_STACK_KB / 4). */
  kernelStackPages = 0;
  /** The frame of empty_zero_page: the last page of the kernel image (its .bss). */
  readonly zeroPfn: number;
  /** pid_max: max(PID_MAX_DEFAULT, PIDS_PER_CPU_DEFAULT * possible CPUs) (pid_idr_init). */
  readonly pidMax: number;
  private lastPid = 0;
  private nextAnonVma = 1;

  constructor(readonly machine: Machine) {
    const image = machine.reserved.find((r) => r.name === 'kernel image');
    this.zeroPfn = image ? image.endPfn - 1 : NO_PFN;
    this.pidMax = Math.max(PID_MAX_DEFAULT, PIDS_PER_CPU_DEFAULT * machine.config.cpus);
  }

  /** The live task with this pid. */
  get(pid: number): Task | undefined {
    return this.tasks.get(pid);
  }

  // ---- creation and exit ----

  /** A new task with an empty address space and a kernel stack (the first exec of a fresh process). */
  spawn(comm: string): Task | TaskError {
    return this.create(comm.slice(0, TASK_COMM_LEN - 1));
  }

  /** copy_process(): pid, kernel stack (dup_task_struct), then the mm (copy_mm, mm_alloc -> pgd_alloc). */
  private create(comm: string): Task | TaskError {
    const m = this.machine;
    const pid = this.allocPid();
    if (pid < 0) return err(TASK_ERRORS.again, `fork: no free pid below pid_max ${this.pidMax} (EAGAIN)`);
    // alloc_thread_stack_node(): __vmalloc_node_range(THREAD_SIZE, THREAD_ALIGN, ..., THREADINFO_GFP & ~__GFP_ACCOUNT).
    const stack = m.vmalloc.vmalloc(THREAD_SIZE, GFP_KERNEL | __GFP_ZERO, {
      align: THREAD_ALIGN,
      caller: 'alloc_thread_stack_node',
    });
    if (isVmallocError(stack)) {
      return err(TASK_ERRORS.noMemory, `fork: no memory for the kernel stack (${stack.message}) (ENOMEM)`);
    }
    const mm = PageTable.createUser(m.kernelPt);
    if (!mm) {
      m.vmalloc.vfree(stack.addr);
      return err(TASK_ERRORS.noMemory, 'fork: no memory for the pgd (ENOMEM)');
    }
    this.lastPid = pid;
    this.kernelStackPages += THREAD_PAGES;
    const task = new Task(pid, comm, mm, stack);
    this.tasks.set(pid, task);
    return task;
  }

  /** alloc_pid(): the next free pid after the last one, wrapping at pid_max to RESERVED_PIDS; -1 when none. */
  private allocPid(): number {
    let pid = this.lastPid + 1;
    for (let tries = 0; tries < this.pidMax; tries++, pid++) {
      if (pid >= this.pidMax) pid = RESERVED_PIDS;
      if (!this.tasks.has(pid)) return pid;
    }
    return -1;
  }

  /**
   * fork(): copy_process() with dup_mmap(): the child gets the parent's comm, a copy of every VMA, and for
   * VMAs with an anon_vma (vma_needs_copy) every present PTE: anon pages gain a mapping and a reference, lose
   * their exclusivity, and both PTEs become read-only (copy_present_pte on a COW mapping); the child's PTEs
   * are old (not accessed). Out of memory undoes the child and returns ENOMEM.
   */
  fork(parent: Task): Task | TaskError {
    if (!parent.alive) return err(TASK_ERRORS.noTask, `fork: task ${parent.pid} has exited (ESRCH)`);
    const child = this.create(parent.comm);
    if (isTaskError(child)) return child;
    for (const v of parent.vmas) {
      child.vmas.push({
        start: v.start,
        end: v.end,
        prot: v.prot,
        anonVma: v.anonVma ? this.nextAnonVma++ : 0,
        forked: v.anonVma !== 0,
      });
    }
    const leaves = this.leavesOf(parent);
    for (const leaf of leaves) {
      const vma = parent.findVma(leaf.va);
      if (!vma || vma.anonVma === 0) continue;
      if (leaf.pfn === this.zeroPfn) {
        if (!child.mm.map(leaf.va, leaf.pfn, SZ_4K, { ...leaf.prot, accessed: false }).ok) {
          return this.forkFailed(child);
        }
        continue;
      }
      const page = this.rmap.get(leaf.pfn);
      if (!page) continue; // a PTE the rmap does not know: checkTasks reports it; do not share it
      if (!child.mm.map(leaf.va, leaf.pfn, SZ_4K, { ...leaf.prot, write: false, accessed: false }).ok) {
        return this.forkFailed(child);
      }
      if (leaf.prot.write) parent.mm.protect(leaf.va, { ...leaf.prot, write: false });
      page.exclusive = false;
      page.maps.push({ task: child, va: leaf.va });
      this.machine.frames.refcount[leaf.pfn]!++;
      child.anonRss++;
    }
    return child;
  }

  private forkFailed(child: Task): TaskError {
    this.exit(child);
    return err(TASK_ERRORS.noMemory, 'fork: no memory for the child page tables (ENOMEM)');
  }

  /**
   * do_exit() -> exit_mmap(): every mapping drops its page (freed at the last reference), the page tables go
   * (free_pgtables, pgd_free), then the kernel stack is vfree()d. The pid is not handed out again until
   * alloc_pid() wraps around.
   */
  exit(task: Task): TaskError | undefined {
    if (!task.alive) return err(TASK_ERRORS.noTask, `exit: task ${task.pid} has already exited (ESRCH)`);
    for (const leaf of this.leavesOf(task)) this.dropMapping(task, leaf.va, leaf.pfn);
    task.mm.destroy();
    task.vmas.length = 0;
    this.machine.vmalloc.vfree(task.stack.addr);
    this.kernelStackPages -= THREAD_PAGES;
    task.alive = false;
    this.tasks.delete(task.pid);
    if (this.machine.pid === task.pid) this.machine.switchTo(undefined); // do_exit() schedules away for good
    return undefined;
  }

  // ---- mmap, munmap, mprotect ----

  /**
   * mmap(addr, len, prot, MAP_FIXED_NOREPLACE | MAP_ANONYMOUS | MAP_PRIVATE, -1, 0): a VMA at exactly addr,
   * no pages until touched. Returns addr, or EINVAL / EEXIST / ENOMEM.
   */
  mmap(task: Task, addr: bigint, len: number, prot: number): bigint | TaskError {
    if (!task.alive) return err(TASK_ERRORS.noTask, `mmap: task ${task.pid} has exited (ESRCH)`);
    const range = this.checkRange('mmap', addr, len, prot);
    if (isTaskError(range)) return range;
    const end = range;
    const i = this.firstEndingAfter(task, addr);
    const next = task.vmas[i];
    if (next && next.start < end) {
      return err(
        TASK_ERRORS.exists,
        `mmap: ${hex(addr)}-${hex(end)} overlaps the mapping ${hex(next.start)}-${hex(next.end)} (MAP_FIXED_NOREPLACE: EEXIST)`,
      );
    }
    if (task.vmas.length >= DEFAULT_MAX_MAP_COUNT) {
      return err(TASK_ERRORS.noMemory, `mmap: ${DEFAULT_MAX_MAP_COUNT} mappings already (vm.max_map_count: ENOMEM)`);
    }
    task.vmas.splice(i, 0, { start: addr, end, prot, anonVma: 0, forked: false });
    this.mergeAround(task, i);
    return addr;
  }

  /** munmap(addr, len): splits the VMAs at the edges, unmaps and frees the pages; holes are fine. */
  munmap(task: Task, addr: bigint, len: number): TaskError | undefined {
    if (!task.alive) return err(TASK_ERRORS.noTask, `munmap: task ${task.pid} has exited (ESRCH)`);
    const range = this.checkRange('munmap', addr, len, 0);
    if (isTaskError(range)) return range;
    const end = range;
    const split = this.splitAt(task, addr, end);
    if (split) return split;
    this.forEachPresent(task, addr, end, (va, pfn) => {
      task.mm.unmap(va);
      this.dropMapping(task, va, pfn);
    });
    const v = task.vmas;
    const first = this.firstEndingAfter(task, addr);
    let last = first;
    while (last < v.length && v[last]!.start < end) last++;
    v.splice(first, last - first);
    return undefined;
  }

  /**
   * mprotect(addr, len, prot): every page of the range must be mapped (else ENOMEM); VMAs are split at the
   * edges and merged again afterwards (vma_modify_flags). PTEs are changed as change_pte_range() does:
   * pte_modify() to the new vm_page_prot, which for a private mapping is never writable, then pte_mkwrite()
   * only where can_change_pte_writable() allows it (an exclusive anon page). A COW-shared page and the zero
   * page therefore stay read-only when PROT_WRITE is added.
   */
  mprotect(task: Task, addr: bigint, len: number, prot: number): TaskError | undefined {
    if (!task.alive) return err(TASK_ERRORS.noTask, `mprotect: task ${task.pid} has exited (ESRCH)`);
    if (len === 0 && addr % PAGE === 0n) return undefined; // do_mprotect_pkey: !len returns 0 before any other check
    const range = this.checkRange('mprotect', addr, len, prot);
    if (isTaskError(range)) return range;
    const end = range;
    // Every page must be covered (do_mprotect_pkey: a hole is ENOMEM).
    let at = addr;
    for (let i = this.firstEndingAfter(task, addr); at < end; i++) {
      const v = task.vmas[i];
      if (!v || v.start > at) {
        return err(TASK_ERRORS.noMemory, `mprotect: ${hex(at)} is not mapped (ENOMEM)`);
      }
      at = v.end;
    }
    const split = this.splitAt(task, addr, end);
    if (split) return split;
    for (let i = this.firstEndingAfter(task, addr); i < task.vmas.length && task.vmas[i]!.start < end; i++) {
      task.vmas[i]!.prot = prot;
    }
    const vmaForProt: Vma = { start: addr, end, prot, anonVma: 0, forked: false };
    this.forEachPresent(task, addr, end, (va, pfn) => {
      const page = this.rmap.get(pfn);
      const writable = (prot & PROT_WRITE) !== 0 && page !== undefined && page.exclusive;
      task.mm.protect(va, pteProt(vmaForProt, writable));
    });
    this.mergeAll(task);
    return undefined;
  }

  /** EINVAL checks shared by the three calls; returns the page-aligned end. */
  private checkRange(call: string, addr: bigint, len: number, prot: number): bigint | TaskError {
    const top = this.machine.arch.userTop;
    if (addr % PAGE !== 0n || addr < 0n) {
      return err(TASK_ERRORS.invalid, `${call}: ${hex(addr)} is not page-aligned (EINVAL)`);
    }
    if (!Number.isSafeInteger(len) || len <= 0) {
      return err(TASK_ERRORS.invalid, `${call}: length ${len} (EINVAL)`);
    }
    if ((prot & ~PROT_MASK) !== 0 || !Number.isInteger(prot)) {
      return err(TASK_ERRORS.invalid, `${call}: unknown PROT_ bits 0x${prot.toString(16)} (EINVAL)`);
    }
    const end = addr + ((BigInt(len) + PAGE - 1n) / PAGE) * PAGE;
    if (end > top) {
      // munmap(): EINVAL; mmap() (get_unmapped_area) and mprotect() (no VMA there): ENOMEM.
      const [code, errno] = call === 'munmap' ? [TASK_ERRORS.invalid, 'EINVAL'] : [TASK_ERRORS.noMemory, 'ENOMEM'];
      return err(code, `${call}: ${hex(addr)}-${hex(end)} goes past TASK_SIZE ${hex(top)} (${errno})`);
    }
    if (call === 'mmap' && addr < MMAP_MIN_ADDR) {
      // security_mmap_addr() -> cap_mmap_addr(): a fixed address below mmap_min_addr needs CAP_SYS_RAWIO.
      return err(TASK_ERRORS.permission, `mmap: ${hex(addr)} is below vm.mmap_min_addr ${hex(MMAP_MIN_ADDR)} (EPERM)`);
    }
    return end;
  }

  /** Index of the first VMA whose end is above addr. */
  private firstEndingAfter(task: Task, addr: bigint): number {
    const v = task.vmas;
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v[mid]!.end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** split_vma() at start and end where a VMA straddles them; ENOMEM past vm.max_map_count. */
  private splitAt(task: Task, start: bigint, end: bigint): TaskError | undefined {
    for (const at of [start, end]) {
      const i = this.firstEndingAfter(task, at);
      const v = task.vmas[i];
      if (!v || v.start >= at) continue;
      if (task.vmas.length >= DEFAULT_MAX_MAP_COUNT) {
        return err(TASK_ERRORS.noMemory, `split_vma: ${DEFAULT_MAX_MAP_COUNT} mappings already (ENOMEM)`);
      }
      task.vmas.splice(i + 1, 0, { ...v, start: at });
      v.end = at;
    }
    return undefined;
  }

  /** is_mergeable_anon_vma() plus the flag test of vma_merge: adjacent, same protection, compatible anon_vmas. */
  private canMerge(a: Vma, b: Vma): boolean {
    if (a.end !== b.start || a.prot !== b.prot) return false;
    if (a.anonVma === b.anonVma) return true;
    return (a.anonVma === 0 && !b.forked) || (b.anonVma === 0 && !a.forked);
  }

  private mergeAround(task: Task, i: number): void {
    const v = task.vmas;
    if (i + 1 < v.length && this.canMerge(v[i]!, v[i + 1]!)) this.mergePair(v, i);
    if (i > 0 && this.canMerge(v[i - 1]!, v[i]!)) this.mergePair(v, i - 1);
  }

  private mergeAll(task: Task): void {
    const v = task.vmas;
    for (let i = 0; i + 1 < v.length;) {
      if (this.canMerge(v[i]!, v[i + 1]!)) this.mergePair(v, i);
      else i++;
    }
  }

  private mergePair(v: Vma[], i: number): void {
    const a = v[i]!;
    const b = v[i + 1]!;
    a.end = b.end;
    if (a.anonVma === 0) {
      a.anonVma = b.anonVma;
      a.forked = b.forked;
    }
    v.splice(i + 1, 1);
  }

  /** anon_vma_prepare(): reuse a neighbour's anon_vma when only the protection differs, else a new one. */
  private anonVmaPrepare(task: Task, vma: Vma): void {
    if (vma.anonVma) return;
    const i = task.vmas.indexOf(vma);
    for (const n of [task.vmas[i - 1], task.vmas[i + 1]]) {
      if (n && n.anonVma && !n.forked && (n.end === vma.start || n.start === vma.end)) {
        vma.anonVma = n.anonVma;
        return;
      }
    }
    vma.anonVma = this.nextAnonVma++;
  }

  /** Calls fn(va, pfn) for every present user PTE in [start, end), in address order, from a snapshot. */
  private forEachPresent(task: Task, start: bigint, end: bigint, fn: (va: bigint, pfn: number) => void): void {
    const pages = (end - start) / PAGE;
    const found: [bigint, number][] = [];
    if (pages <= 4096n) {
      for (let va = start; va < end; va += PAGE) {
        const phys = task.mm.translate(va);
        if (phys >= 0) found.push([va, Math.floor(phys / PAGE_SIZE)]);
      }
    } else {
      for (const leaf of this.leavesOf(task)) if (leaf.va >= start && leaf.va < end) found.push([leaf.va, leaf.pfn]);
    }
    for (const [va, pfn] of found) fn(va, pfn);
  }

  private leavesOf(task: Task): Leaf[] {
    const out: Leaf[] = [];
    task.mm.forEachLeaf((leaf) => out.push(leaf));
    return out;
  }

  /** zap_present_pte(): the mapping (task, va) of pfn goes; the page is freed at its last reference. */
  private dropMapping(task: Task, va: bigint, pfn: number): void {
    if (pfn === this.zeroPfn) return;
    const page = this.rmap.get(pfn);
    if (!page) return;
    const k = page.maps.findIndex((m) => m.task === task && m.va === va);
    if (k < 0) return;
    page.maps.splice(k, 1);
    task.anonRss--;
    this.putPage(pfn, page);
  }

  /** put_page() of an anon page: one reference less; at zero it leaves the LRU and goes to the page allocator. */
  private putPage(pfn: number, page: AnonPage): void {
    const { frames } = this.machine;
    if (frames.refcount[pfn]! > 1) {
      frames.refcount[pfn]!--;
      return;
    }
    this.rmap.delete(pfn);
    frames.flags[pfn]! &= ~(PG_ANON | PG_LRU);
    page.maps.length = 0;
    const bad = this.machine.buddy.freePages(pfn, 0, this.machine.cpu);
    if (bad) throw new Error(`process: the page allocator refused anon pfn ${pfn}: ${bad}`);
  }

  // ---- faults ----

  /**
   * One user-mode access through the task's page table, with the kernel's page-fault handling in between:
   * the physical address and the faults handled, or the signal (with the kernel's message, also logged),
   * or 'oom' when the handler could not get a page (VM_FAULT_OOM: the caller runs the OOM killer).
   */
  access(task: Task, va: bigint, kind: AccessKind): TaskAccessResult {
    const faults: HandledFault[] = [];
    if (!task.alive) {
      return { ok: false, kind: 'SIGSEGV', siCode: 0, errorCode: 0, message: `task ${task.pid} has exited\n`, faults };
    }
    const m = this.machine;
    const savedComm = m.comm;
    m.comm = task.comm; // current->comm in any allocation report
    try {
      for (let attempt = 0; attempt < 4; attempt++) {
        const r = task.mm.access(va, kind, true);
        if (r.ok) return { ok: true, phys: r.phys, faults };
        const f = r.fault;
        const refused = this.badArea(task, va, f);
        if (refused) return { ...refused, faults };
        const vma = task.findVma(va)!;
        const base = va & ~(PAGE - 1n);
        const outcome =
          f.kind === 'not-present' ? this.doAnonymousPage(task, vma, base, f.write) : this.doWpPage(task, vma, base, f);
        if (typeof outcome === 'string') {
          this.event(task, 0, f.errorCode, OUTCOME_CODES.oom);
          return {
            ok: false,
            kind: 'oom',
            siCode: 0,
            errorCode: f.errorCode,
            message: `${task.comm}[${task.pid}]: page fault at ${hex(va)}: ${outcome} (VM_FAULT_OOM)\n`,
            faults,
          };
        }
        faults.push({ ...outcome, errorCode: f.errorCode });
        this.event(task, outcome.pfn, f.errorCode, OUTCOME_CODES[outcome.outcome]);
      }
      return this.segv(task, va, 0, SEGV_ACCERR, false, faults);
    } finally {
      m.comm = savedComm;
    }
  }

  /** do_user_addr_fault()'s refusals: #GP, corrupted table, no VMA, access_error(). */
  private badArea(
    task: Task,
    va: bigint,
    f: PageFault,
  ): Omit<Extract<TaskAccessResult, { ok: false }>, 'faults'> | undefined {
    const x86 = this.machine.arch.family === 'x86';
    if (f.kind === 'non-canonical') {
      // exc_general_protection() -> show_signal(): "traps: %s[%d] general protection fault ip:%lx sp:%lx error:%lx".
      const message = x86
        ? `traps: ${task.comm}[${task.pid}] general protection fault ip:0 sp:0 error:0\n`
        : riscvMessage(task, SEGV_MAPERR, va);
      return this.signal(task, 'SIGSEGV', SEGV_MAPERR, 0, message);
    }
    if (f.kind === 'reserved') {
      // pgtable_bad(): "%s: Corrupted page table at address %lx", then an oops; the task is killed.
      const message = `${task.comm}: Corrupted page table at address ${va.toString(16)}\n`;
      return this.signal(task, 'SIGKILL', 0, f.errorCode, message);
    }
    const vma = va < this.machine.arch.userTop ? task.findVma(va) : undefined;
    if (!vma) return this.segvResult(task, va, f.errorCode, SEGV_MAPERR, f.exec);
    let errorCode = f.errorCode;
    if (vma.prot === PROT_NONE && x86) errorCode &= ~X86_PF_PROT; // _PAGE_PROTNONE: not present to the MMU
    if (this.accessError(f, vma)) return this.segvResult(task, va, errorCode, SEGV_ACCERR, f.exec);
    return undefined;
  }

  /** access_error(): arch/x86/mm/fault.c or arch/riscv/mm/fault.c. */
  private accessError(f: PageFault, vma: Vma): boolean {
    if (this.machine.arch.family === 'x86') {
      if (f.errorCode & X86_PF_WRITE) return (vma.prot & PROT_WRITE) === 0;
      if (f.errorCode & X86_PF_PROT) return true; // read (or fetch), present
      return vma.prot === PROT_NONE; // read, not present: !vma_is_accessible()
    }
    if (f.cause === EXC_INST_PAGE_FAULT) return (vma.prot & PROT_EXEC) === 0;
    if (f.cause === EXC_STORE_PAGE_FAULT) return (vma.prot & PROT_WRITE) === 0;
    return (vma.prot & (PROT_READ | PROT_WRITE)) === 0;
  }

  private segvResult(task: Task, va: bigint, errorCode: number, siCode: number, exec: boolean) {
    const message =
      this.machine.arch.family === 'x86'
        ? x86Message(task, va, errorCode, exec, this.machine.cpu)
        : riscvMessage(task, siCode, va);
    return this.signal(task, 'SIGSEGV', siCode, errorCode, message);
  }

  private segv(task: Task, va: bigint, errorCode: number, siCode: number, exec: boolean, faults: HandledFault[]) {
    return { ...this.segvResult(task, va, errorCode, siCode, exec), faults };
  }

  private signal(task: Task, kind: 'SIGSEGV' | 'SIGKILL', siCode: number, errorCode: number, message: string) {
    printk(this.machine, message);
    this.event(task, 0, errorCode, kind === 'SIGKILL' ? OUTCOME_CODES.kill : OUTCOME_CODES.segv);
    return { ok: false as const, kind, siCode, errorCode, message };
  }

  /** do_anonymous_page(): the zero page for a read, a new zeroed exclusive page for a write. */
  private doAnonymousPage(
    task: Task,
    vma: Vma,
    va: bigint,
    write: boolean,
  ): { outcome: FaultOutcome; pfn: number } | string {
    if (!write && this.zeroPfn !== NO_PFN) {
      if (!task.mm.map(va, this.zeroPfn, SZ_4K, pteProt(vma, false)).ok) return 'no memory for a page table';
      return { outcome: 'zero-page', pfn: this.zeroPfn };
    }
    this.anonVmaPrepare(task, vma);
    const pfn = this.allocAnonPage(true);
    if (pfn === NO_PFN) return 'no memory for the page';
    const writable = (vma.prot & PROT_WRITE) !== 0;
    if (!task.mm.map(va, pfn, SZ_4K, { ...pteProt(vma, writable), dirty: writable }).ok) {
      this.putPage(pfn, { exclusive: true, maps: [] });
      return 'no memory for a page table';
    }
    this.rmap.set(pfn, { exclusive: true, maps: [{ task, va }] });
    task.anonRss++;
    return { outcome: 'demand-zero', pfn };
  }

  /** do_wp_page(): a write to a present, read-only PTE in a writable VMA. */
  private doWpPage(task: Task, vma: Vma, va: bigint, f: PageFault): { outcome: FaultOutcome; pfn: number } | string {
    const walk = task.mm.walk(va);
    const leaf = walk.levels[walk.levels.length - 1];
    if (walk.outcome.kind !== 'mapped' || !leaf) return 'the PTE went away';
    const old = walk.outcome.pfn;
    const page = this.rmap.get(old);
    if (!f.write || (old !== this.zeroPfn && !page)) {
      // A protection fault the VMA allows and no handler explains (a PTE set up behind the model's back):
      // make it what the VMA says, as a spurious fault fix-up would.
      task.mm.protect(va, pteProt(vma, false));
      return { outcome: 'cow-reuse', pfn: old };
    }
    if (page && (page.exclusive || this.machine.frames.refcount[old] === 1)) {
      // wp_can_reuse_anon_folio() -> wp_page_reuse(): SetPageAnonExclusive, pte_mkwrite(pte_mkdirty()).
      page.exclusive = true;
      task.mm.protect(va, { ...pteProt(vma, true), dirty: true });
      return { outcome: 'cow-reuse', pfn: old };
    }
    // wp_page_copy(): a new page (zeroed for the zero page, else a copy), the old mapping's reference dropped.
    this.anonVmaPrepare(task, vma);
    const fresh = this.allocAnonPage(old === this.zeroPfn);
    if (fresh === NO_PFN) return 'no memory for the copy';
    if (old !== this.zeroPfn) this.machine.mem.copyPage(fresh, old);
    setPtePfn(this.machine, leaf.entryPhys, fresh);
    task.mm.protect(va, { ...pteProt(vma, true), dirty: true });
    this.rmap.set(fresh, { exclusive: true, maps: [{ task, va }] });
    task.anonRss++;
    if (page) this.dropMapping(task, va, old);
    return { outcome: 'cow-copy', pfn: fresh };
  }

  /** alloc_anon_folio() / vma_alloc_folio(): GFP_HIGHUSER_MOVABLE (| __GFP_ZERO), on the LRU, PG_anon. */
  private allocAnonPage(zero: boolean): number {
    const m = this.machine;
    const pfn = m.allocFrames(0, GFP_HIGHUSER_MOVABLE | (zero ? __GFP_ZERO : 0), m.cpu, false);
    if (pfn !== NO_PFN) m.frames.flags[pfn]! |= PG_ANON | PG_LRU;
    return pfn;
  }

  private event(task: Task, pfn: number, errorCode: number, outcome: number): void {
    const m = this.machine;
    m.events.push(EventKind.PageFault, m.cpu, m.eventLine, task.pid, pfn, errorCode >>> 0, outcome);
  }

  // ---- migration (for compaction) ----

  /**
   * The rmap walk of migrate_pages() for one anon page: every PTE that maps src now maps dst (the
   * remove_migration_ptes() step), dst takes src's mappings, references and exclusivity. The bytes are the
   * caller's to copy, src's reference the caller's to drop. False when src is not a known anon page.
   */
  moveAnonPage(src: number, dst: number): boolean {
    const page = this.rmap.get(src);
    if (!page) return false;
    for (const { task, va } of page.maps) {
      const walk = task.mm.walk(va);
      const leaf = walk.levels[walk.levels.length - 1];
      if (walk.outcome.kind !== 'mapped' || walk.outcome.pfn !== src || !leaf) return false;
    }
    for (const { task, va } of page.maps) {
      const walk = task.mm.walk(va);
      setPtePfn(this.machine, walk.levels[walk.levels.length - 1]!.entryPhys, dst);
    }
    const { frames } = this.machine;
    this.rmap.delete(src);
    this.rmap.set(dst, page);
    frames.refcount[dst] = frames.refcount[src]!;
    frames.flags[dst]! |= PG_ANON | PG_LRU;
    frames.refcount[src] = 1;
    frames.flags[src]! &= ~(PG_ANON | PG_LRU);
    return true;
  }

  // ---- OOM killer ----

  /** mm_pgtables_bytes() / PAGE_SIZE: the PTE, PMD and PUD tables (not the pgd, nor the p4d tables of la57). */
  pgtablePages(task: Task): number {
    if (!task.alive) return 0;
    let n = task.mm.countTablePages() - 1;
    if (this.machine.arch.levels === 5) {
      for (let i = 0; i < task.mm.kernelBoundary; i++) if (task.mm.entryAt(task.mm.root, i) & 1n) n--;
    }
    return n;
  }

  /**
   * oom_badness(): get_mm_rss() + MM_SWAPENTS (0, no swap) + mm_pgtables_bytes() / PAGE_SIZE, with
   * oom_score_adj 0; LONG_MIN (here -Infinity) for init (pid 1), which oom_unkillable_task() excludes.
   */
  oomBadness(task: Task): number {
    if (!task.alive || task.pid === 1) return -Infinity;
    return task.anonRss + this.pgtablePages(task);
  }

  /**
   * select_bad_process() -> oom_evaluate_task() for each process, oldest first: the highest badness wins, a
   * later task with equal points replaces the chosen one (`points < chosen_points` skips only lower ones).
   */
  selectOomVictim(): Task | undefined {
    let chosen: Task | undefined;
    let chosenPoints = -Infinity;
    for (const t of this.tasks.values()) {
      const points = this.oomBadness(t);
      if (points === -Infinity || points < chosenPoints) continue;
      chosen = t;
      chosenPoints = points;
    }
    return chosen;
  }

  /**
   * __oom_kill_process(): the numbers of "Out of memory: Killed process %d (%s) total-vm:%lukB,
   * anon-rss:%lukB, ... pgtables:%lukB", taken before the victim's memory goes, then the victim exits (the
   * oom reaper and exit_mmap() free its memory; the model does it at once).
   */
  oomKill(victim: Task): OomVictimInfo {
    const info: OomVictimInfo = {
      pid: victim.pid,
      comm: victim.comm,
      totalVmKb: victim.totalVmPages * (PAGE_SIZE / 1024),
      anonRssKb: victim.anonRss * (PAGE_SIZE / 1024),
      pgtablesKb: this.pgtablePages(victim) * (PAGE_SIZE / 1024),
    };
    this.exit(victim);
    return info;
  }
}

/** vm_get_page_prot() of a private mapping (x86 protection_map: PAGE_NONE/READONLY/COPY, _EXEC variants). */
function pteProt(vma: Vma, writable: boolean): Prot {
  return {
    user: vma.prot !== PROT_NONE,
    write: writable,
    exec: (vma.prot & PROT_EXEC) !== 0,
    accessed: true,
  };
}

/** Rewrites the frame number of the leaf entry at entryPhys, keeping every other bit (set_pte of a new page). */
function setPtePfn(machine: Machine, entryPhys: number, pfn: number): void {
  const old = machine.mem.readU64(entryPhys);
  const value =
    machine.arch.family === 'x86'
      ? (old & ~PTE_PFN_MASK) | (BigInt(pfn) << 12n)
      : (old & ~RISCV_PPN_MASK) | (BigInt(pfn) << 10n);
  machine.mem.writeU64(entryPhys, value);
}

/** RISC-V PTE PPN field, bits 10..53. */
const RISCV_PPN_MASK = ((1n << 54n) - 1n) & ~((1n << 10n) - 1n);

/** show_signal_msg() (arch/x86/mm/fault.c, 6.2+); see the top of this file for ip and sp. */
function x86Message(task: Task, va: bigint, errorCode: number, exec: boolean, cpu: number): string {
  const px = (v: bigint) => v.toString(16).padStart(16, '0');
  const ip = exec ? va : 0n;
  return (
    `${task.comm}[${task.pid}]: segfault at ${va.toString(16)} ip ${px(ip)} sp ${px(0n)} error ${errorCode.toString(16)}` +
    ` likely on CPU ${cpu} (core ${cpu}, socket 0)\n`
  );
}

/** arch/riscv/kernel/traps.c do_trap(): "%s[%d]: unhandled signal %d code 0x%x at 0x" REG_FMT. */
function riscvMessage(task: Task, siCode: number, va: bigint): string {
  return `${task.comm}[${task.pid}]: unhandled signal ${SIGSEGV} code 0x${siCode.toString(16)} at 0x${va.toString(16).padStart(16, '0')}\n`;
}

function printk(machine: Machine, text: string): void {
  if (machine.log.length < LOG_LIMIT) machine.log.push(text);
  else machine.logDropped++;
}

function err(code: string, message: string): TaskError {
  return { code, message };
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

// ---- views ----

export interface VmaView {
  readonly start: string;
  readonly end: string;
  /** /proc/PID/maps permission letters, "rw-p". */
  readonly perms: string;
  readonly pages: number;
}

export interface TaskView {
  readonly pid: number;
  readonly comm: string;
  readonly vmas: readonly VmaView[];
  readonly rssPages: number;
  readonly pageTablePages: number;
  /** The kernel stack's vmalloc range [start, end) (guard page excluded), hex. */
  readonly kernelStack: { readonly start: string; readonly end: string };
}

export interface TasksView {
  readonly kind: 'tasks';
  readonly tasks: readonly TaskView[];
  readonly kernelStackPages: number;
  readonly anonPages: number;
}

function perms(prot: number): string {
  return `${prot & PROT_READ ? 'r' : '-'}${prot & PROT_WRITE ? 'w' : '-'}${prot & PROT_EXEC ? 'x' : '-'}p`;
}

/** Every live task with its VMAs, RSS, page tables and kernel stack, as plain JSON. */
export function tasksView(machine: Machine): TasksView {
  const table = machine.tasks;
  const tasks: TaskView[] = [];
  let anonPages = 0;
  for (const t of table.tasks.values()) {
    anonPages += t.anonRss;
    tasks.push({
      pid: t.pid,
      comm: t.comm,
      vmas: t.vmas.map((v) => ({
        start: hex(v.start),
        end: hex(v.end),
        perms: perms(v.prot),
        pages: Number((v.end - v.start) / PAGE),
      })),
      rssPages: t.anonRss,
      pageTablePages: t.mm.countTablePages(),
      kernelStack: { start: hex(t.stack.addr), end: hex(t.stack.addr + BigInt(THREAD_SIZE)) },
    });
  }
  return { kind: 'tasks', tasks, kernelStackPages: table.kernelStackPages, anonPages };
}

/**
 * /proc/PID/maps (fs/proc/task_mmu.c show_map_vma -> show_vma_header_prefix): "%08lx-%08lx %c%c%c%c %08llx
 * %02x:%02x %lu " per VMA; an anonymous mapping has pgoff, device and inode 0 and no name, so the line ends
 * with that space before the newline (seq_pad only pads when a name follows).
 */
export function formatMaps(task: Task): string {
  const h = (v: bigint) => v.toString(16).padStart(8, '0');
  return task.vmas.map((v) => `${h(v.start)}-${h(v.end)} ${perms(v.prot)} 00000000 00:00 0 \n`).join('');
}

/**
 * The memory lines of /proc/PID/status (fs/proc/task_mmu.c task_mem(): each value in kB, right-aligned in 8
 * columns): VmSize (total_vm), VmRSS, RssAnon, VmData (private writable mappings), VmStk (no stack VMA in
 * the model: 0), VmPTE (mm_pgtables_bytes).
 */
export function formatStatusMemory(table: TaskTable, task: Task): string {
  const kb = (pages: number) => String(pages * (PAGE_SIZE / 1024)).padStart(8);
  let data = 0;
  for (const v of task.vmas) if (v.prot & PROT_WRITE) data += Number((v.end - v.start) / PAGE);
  return (
    `VmSize:\t${kb(task.totalVmPages)} kB\n` +
    `VmRSS:\t${kb(task.anonRss)} kB\n` +
    `RssAnon:\t${kb(task.anonRss)} kB\n` +
    `VmData:\t${kb(data)} kB\n` +
    `VmStk:\t${kb(0)} kB\n` +
    `VmPTE:\t${kb(table.pgtablePages(task))} kB\n`
  );
}

// ---- invariants ----

/** At most this many problems are reported. */
const MAX_PROBLEMS = 50;

/**
 * The invariants of tasks, their page tables and the reverse map, in words (empty when all hold):
 *   - every present user PTE lies in a VMA, maps the zero page read-only or an anon page (PG_anon, PG_lru,
 *     a reference), is user-accessible unless the VMA is PROT_NONE, executable exactly when the VMA is, and
 *     writable only when the VMA is and the page is exclusive with one mapping;
 *   - the rmap and the PTEs agree both ways, and each anon page's mapcount equals its refcount;
 *   - each task's RSS equals its anon PTEs; page-table pages carry PG_pgtable; KernelStack adds up.
 */
export function checkTasks(machine: Machine): string[] {
  const problems: string[] = [];
  const report = (p: string): boolean => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    return problems.length < MAX_PROBLEMS;
  };
  const table = machine.tasks;
  if (!table) return problems;
  const { frames } = machine;
  const seen = new Map<number, number>();
  const hx = (n: number) => `0x${n.toString(16)}`;
  for (const t of table.tasks.values()) {
    const who = `${t.comm}[${t.pid}]`;
    if (!t.alive || t.mm.isDestroyed) {
      report(`${who} is in the task table but has exited`);
      continue;
    }
    for (let i = 0; i + 1 < t.vmas.length; i++) {
      if (t.vmas[i]!.end > t.vmas[i + 1]!.start) report(`${who}: VMAs ${i} and ${i + 1} overlap or are out of order`);
    }
    if (!(frames.flags[t.mm.root]! & PG_PGTABLE)) report(`${who}: pgd ${hx(t.mm.root)} is not PG_pgtable`);
    let rss = 0;
    const tablesSeen = new Set<number>();
    const regionsSeen = new Set<bigint>();
    const leaves: Leaf[] = [];
    t.mm.forEachLeaf((leaf) => leaves.push(leaf));
    for (const leaf of leaves) {
      if (problems.length >= MAX_PROBLEMS) return problems;
      const at = `${who} ${hex(leaf.va)}`;
      const vma = t.findVma(leaf.va);
      if (!vma) report(`${at}: a present PTE outside every VMA`);
      const region = leaf.va >> 21n;
      const walk = regionsSeen.has(region) ? { levels: [] } : t.mm.walk(leaf.va);
      regionsSeen.add(region);
      for (const l of walk.levels.slice(1)) {
        const tp = Math.floor(l.entryPhys / PAGE_SIZE);
        if (tablesSeen.has(tp)) continue;
        tablesSeen.add(tp);
        if (!(frames.flags[tp]! & PG_PGTABLE)) report(`${at}: page-table page ${hx(tp)} is not PG_pgtable`);
      }
      if (leaf.pageSize !== SZ_4K) report(`${at}: a ${leaf.pageSize}-byte leaf in a user table`);
      if (vma) {
        if (leaf.prot.user !== (vma.prot !== PROT_NONE)) report(`${at}: PTE user bit does not match the VMA`);
        if (leaf.prot.write && !(vma.prot & PROT_WRITE)) report(`${at}: writable PTE in a VMA without PROT_WRITE`);
        if (!!leaf.prot.exec !== ((vma.prot & PROT_EXEC) !== 0)) {
          report(`${at}: PTE exec permission does not match the VMA`);
        }
      }
      if (leaf.pfn === table.zeroPfn) {
        if (leaf.prot.write) report(`${at}: the zero page is mapped writable`);
        continue;
      }
      if (leaf.pfn < 0 || leaf.pfn >= frames.count) {
        report(`${at}: PTE points outside memory (pfn ${leaf.pfn})`);
        continue;
      }
      rss++;
      seen.set(leaf.pfn, (seen.get(leaf.pfn) ?? 0) + 1);
      const f = frames.flags[leaf.pfn]!;
      if (!(f & PG_ANON)) report(`${at}: maps pfn ${hx(leaf.pfn)}, which is not PG_anon`);
      if (frames.refcount[leaf.pfn] === 0) report(`${at}: maps pfn ${hx(leaf.pfn)}, which has no reference`);
      const page = table.rmap.get(leaf.pfn);
      if (!page) {
        report(`${at}: maps pfn ${hx(leaf.pfn)}, which the rmap does not know`);
      } else {
        if (!page.maps.some((mp) => mp.task === t && mp.va === leaf.va)) {
          report(`${at}: maps pfn ${hx(leaf.pfn)} but the rmap does not list this mapping`);
        }
        if (leaf.prot.write && (!page.exclusive || page.maps.length !== 1)) {
          report(`${at}: writable PTE of a shared (COW) page ${hx(leaf.pfn)}`);
        }
      }
    }
    if (rss !== t.anonRss) report(`${who}: RssAnon says ${t.anonRss} pages, the PTEs map ${rss}`);
  }
  for (const [pfn, page] of table.rmap) {
    if (problems.length >= MAX_PROBLEMS) break;
    const mapcount = page.maps.length;
    if (frames.refcount[pfn] !== mapcount) {
      report(`pfn ${hx(pfn)}: mapcount ${mapcount} but refcount ${frames.refcount[pfn]}`);
    }
    if ((frames.flags[pfn]! & (PG_ANON | PG_LRU)) !== (PG_ANON | PG_LRU)) {
      report(`pfn ${hx(pfn)}: in the rmap without PG_anon and PG_lru`);
    }
    if ((seen.get(pfn) ?? 0) !== mapcount) {
      report(`pfn ${hx(pfn)}: the rmap lists ${mapcount} mappings, the page tables hold ${seen.get(pfn) ?? 0}`);
    }
    for (const { task, va } of page.maps) {
      if (!task.alive) report(`pfn ${hx(pfn)}: the rmap lists exited task ${task.pid}`);
      else if (task.mm.translate(va) !== pfn * PAGE_SIZE) {
        report(`pfn ${hx(pfn)}: the rmap lists ${task.comm}[${task.pid}] ${hex(va)}, which maps something else`);
      }
    }
  }
  if (table.kernelStackPages !== table.tasks.size * THREAD_PAGES) {
    report(`KernelStack counts ${table.kernelStackPages} pages for ${table.tasks.size} tasks`);
  }
  return problems;
}

/** x86 error-code bits re-exported for callers that decode HandledFault.errorCode. */
export { X86_PF_INSTR, X86_PF_PROT, X86_PF_USER, X86_PF_WRITE };
