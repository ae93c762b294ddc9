/*
 * The vmalloc address space (mm/vmalloc.c, Linux 6.12): virtually contiguous kernel memory built from
 * scattered order-0 pages, plus vmap() of given pages and ioremap() of device memory, all in
 * [VMALLOC_START, VMALLOC_END) (x86-64 4-level: 0xffffc90000000000, 32 TiB, Documentation/arch/x86/x86_64/mm.rst;
 * CONFIG_RANDOMIZE_MEMORY moves the base at boot, the model does not).
 *
 * Layout of one area (struct vm_struct / struct vmap_area):
 *
 *   addr                                     addr + size - PAGE_SIZE      addr + size
 *   |<------- get_vm_area_size(): mapped pages ------->|<-- guard page -->|
 *   |  page[0] | page[1] | ...        | page[nr-1]     |  never mapped    |
 *
 * vm->size (and va_end - va_start) includes the guard page unless VM_NO_GUARD; get_vm_area_size() subtracts
 * it. The guard page is at the top: a linear overflow off the end of an area faults there, while a kernel stack
 * (which grows down) that overflows runs below its area, into the hole or the guard page of the area beneath.
 *
 * Allocation (alloc_vmap_area -> __alloc_vmap_area): the lowest-address free hole that holds `size` at an
 * address aligned to `align`. The kernel keeps free space in an augmented rb-tree (subtree_max_size) and
 * find_vmap_lowest_match() descends it; the model keeps the busy areas in an array sorted by address (binary
 * search for lookups, O(log n)) and scans the holes between them (O(n) per allocation), which yields the lowest
 * exact fit, the answer the kernel's own DEBUG_AUGMENT_LOWEST_MATCH_CHECK compares against. One difference: for
 * align > PAGE_SIZE the kernel prunes subtrees with a search length of size + align - 1, so it can pass over a
 * lower hole that fits only thanks to a lucky alignment; the model takes that hole.
 *
 * __vmalloc_node_range_noprof(size, align, ...): size 0 -> NULL (WARN_ON_ONCE); more pages than totalram ->
 * "exceeds total pages"; __get_vm_area_node() page-aligns size and adds the guard page, then reserves the VA;
 * __vmalloc_area_node() allocates the page array (kmalloc up to PAGE_SIZE bytes, i.e. 512 pages; beyond, a
 * nested __vmalloc_node() of the array with the same caller, which /proc/vmallocinfo marks "vpages"), allocates
 * the order-0 pages one by one (the kernel asks the bulk allocator 100 at a time, same result), then maps them
 * PAGE_KERNEL (present, RW, global, NX). Any failure prints through warn_alloc() and vfree()s what was built: no
 * page, no VA is left behind.
 *
 * vfree(addr): NULL is a no-op; an address that is not page-aligned warns "Trying to vfree() bad address (%p)"
 * (remove_vm_area) and then "Trying to vfree() nonexistent vm area (%p)" (vfree); otherwise the area
 * *containing* addr (__find_vmap_area() matches va_start <= addr < va_end, guard page included) is unmapped and
 * its pages freed, even when addr is not its start: the kernel does not check. The result says so (offset != 0)
 * so a caller can flag it. No area -> "Trying to vfree() nonexistent vm area (%p)".
 *
 * Left out, on purpose:
 *   - lazy freeing: the kernel unmaps at vfree() but keeps the VA on a per-node "lazy" list until
 *     lazy_max_pages() (fls(online CPUs) * 32 MiB of pages) accumulate or an allocation fails
 *     (free_vmap_area_noflush, __purge_vmap_area_lazy), and since 6.9 purged areas of up to 256 pages go to
 *     per-vmap-node size pools (node_pool_add_va) reused by same-size requests. The model returns the VA to the
 *     free space at once, as if every vfree were followed by a purge; /proc/vmallocinfo's "unpurged vm_area"
 *     lines therefore never appear;
 *   - the kmalloc'd page array (<= 512 pages), the struct vm_struct / vmap_area slab objects, and the page-table
 *     pages the mapping needs (the host's map() allocates those);
 *   - huge vmalloc (VM_ALLOW_HUGE_VMAP), vm_map_ram()'s per-CPU vmap blocks, KASAN shadow population;
 *   - x86 ioremap()'s checks (RAM ranges, memtype/PAT reservation): ioremap() here only reserves and maps.
 * %p in the warnings is printed as with no_hash_pointers (16 hex digits); a default kernel hashes it.
 */

import { PAGE_SHIFT, PAGE_SIZE } from './config';
import {
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_FS,
  __GFP_HIGH,
  __GFP_HIGHMEM,
  __GFP_IO,
  __GFP_MEMALLOC,
  __GFP_NOFAIL,
  __GFP_NOMEMALLOC,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_RECLAIM,
  __GFP_RETRY_MAYFAIL,
  __GFP_ZERO,
} from './gfp';

/** arch/x86/include/asm/pgtable_64_types.h, 4-level paging: VMALLOC_START = __VMALLOC_BASE_L4. */
export const VMALLOC_START = 0xffffc90000000000n;
/** VMALLOC_START + (VMALLOC_SIZE_TB_L4 = 32 TiB) - 1; alloc_vmap_area() uses it as the (exclusive) vend. */
export const VMALLOC_END = VMALLOC_START + (32n << 40n) - 1n;

/** include/linux/vmalloc.h vm_struct flags (6.12). */
export const VM_IOREMAP = 0x1;
export const VM_ALLOC = 0x2;
export const VM_MAP = 0x4;
export const VM_USERMAP = 0x8;
export const VM_DMA_COHERENT = 0x10;
export const VM_UNINITIALIZED = 0x20;
export const VM_NO_GUARD = 0x40;
export const VM_MAP_PUT_PAGES = 0x200;
export const VM_SPARSE = 0x1000;

/** arch/x86/include/asm/page_64_types.h: THREAD_SIZE = PAGE_SIZE << (2 + KASAN_STACK_ORDER), 16 KiB without KASAN. */
export const THREAD_SIZE = 16384;
/** include/linux/thread_info.h: THREAD_ALIGN defaults to THREAD_SIZE (x86-64 does not override it). */
export const THREAD_ALIGN = THREAD_SIZE;
/** arch/x86/include/asm/page_types.h: IOREMAP_MAX_ORDER = PUD_SHIFT on x86-64 (ioremap areas align up to 1 GiB). */
export const IOREMAP_MAX_ORDER = 30;
/** mm/internal.h GFP_RECLAIM_MASK (__GFP_NOLOCKDEP is 0 without CONFIG_LOCKDEP). */
export const GFP_RECLAIM_MASK =
  __GFP_RECLAIM |
  __GFP_HIGH |
  __GFP_IO |
  __GFP_FS |
  __GFP_NOWARN |
  __GFP_RETRY_MAYFAIL |
  __GFP_NOFAIL |
  __GFP_NORETRY |
  __GFP_MEMALLOC |
  __GFP_NOMEMALLOC;

const PAGE = BigInt(PAGE_SIZE);

/** What VmallocSpace needs from the machine: the page allocator and the kernel page table. */
export interface VmallocHost {
  /** One page from the page allocator (gfp as given); -1 when it fails. */
  allocPage(gfp: number): number;
  freePage(pfn: number): void;
  /** Maps one 4 KiB page into the kernel page table (PAGE_KERNEL: present, RW, global, NX); false when a page-table page could not be allocated. */
  map(va: bigint, pfn: number): boolean;
  unmap(va: bigint): void;
  /** totalram_pages(): vmalloc refuses more pages than this. No limit when absent. */
  totalramPages?(): number;
  /** The NUMA node of a frame, for /proc/vmallocinfo's N<node>= counts; node 0 when absent. */
  nodeOfPfn?(pfn: number): number;
}

/** One vm_struct, as callers see it. Addresses are bigint: they exceed 2^53. */
export interface VmArea {
  /** vm->addr: the first byte of the area. */
  readonly addr: bigint;
  /** vm->size in bytes: the reservation, guard page included (unless VM_NO_GUARD). */
  readonly size: number;
  /** What the caller asked for (vm->requested_size in later kernels; the warnings print it). */
  readonly requestedSize: number;
  /** VM_* flags. */
  readonly flags: number;
  /** vm->caller: printed as given ("%pS"), e.g. "alloc_thread_stack_node+0x4d/0x1a0". */
  readonly caller: string;
  /** vm->nr_pages. */
  readonly nrPages: number;
  /** The frames of vm->pages[], in address order (empty for vmap() without VM_MAP_PUT_PAGES and ioremap()). */
  readonly pages: readonly number[];
  /** vm->phys_addr: the device address of an ioremap() area, else 0. */
  readonly physAddr: number;
  /** Where vm->pages[] lives when it was itself vmalloc'ed (more than 512 pages): /proc/vmallocinfo's "vpages". */
  readonly pagesArray?: bigint;
}

/** A failure the kernel reports through warn_alloc() or WARN(); the model returns it, never throws. */
export interface VmallocError {
  /** Stable id: KM5001 ... */
  readonly code: string;
  /** One sentence for the user: the kernel's last message, or what the kernel does instead. */
  readonly message: string;
  /**
   * The kernel log lines, in order, without the printk prefix. warn_alloc() lines carry the gfp it prints as
   * "<comm>: <text>, mode:%#x(%pGg), nodemask=(null)"; pr_warn()/WARN() lines have none. Empty with __GFP_NOWARN.
   */
  readonly log: readonly { readonly text: string; readonly gfp?: number }[];
}

export function isVmallocError(x: unknown): x is VmallocError {
  return typeof x === 'object' && x !== null && 'code' in x && 'log' in x;
}

export interface VmallocOptions {
  /** Power of two, bytes; the kernel's vmalloc() passes 1 (sizes are page multiples, so PAGE_SIZE in effect). */
  readonly align?: number;
  /** The %pS the area records, usually the caller's symbol+offset/size. */
  readonly caller: string;
  /** 'user': vmalloc_user() adds VM_USERMAP (and aligns to SHMLBA = PAGE_SIZE on x86). */
  readonly flags?: 'vmalloc' | 'user';
  /** VM_NO_GUARD: no guard page after the area. */
  readonly noGuard?: boolean;
}

/** Where an address falls, for hovers and fault reports. */
export interface VmAddressInfo {
  readonly area: VmArea;
  /** Bytes from area.addr. */
  readonly offset: number;
  /** The address is in the guard page at the top of the area. */
  readonly inGuard: boolean;
}

export interface VfreeResult {
  readonly area: VmArea;
  /** addr - area.addr: not 0 when the kernel freed the area containing a non-start address without a word. */
  readonly offset: number;
}

interface Area {
  readonly addr: bigint;
  /** va_end: addr + size. */
  readonly end: bigint;
  readonly size: number;
  readonly requestedSize: number;
  flags: number;
  readonly caller: string;
  pages: number[];
  /** Pages of the area mapped so far (from addr up). */
  mapped: number;
  physAddr: number;
  pagesArray?: Area;
}

export class VmallocSpace {
  /** Busy areas sorted by address; none overlap. */
  private readonly busy: Area[] = [];

  constructor(
    readonly start: bigint,
    readonly end: bigint,
    private readonly host: VmallocHost,
  ) {}

  /** vmalloc()/__vmalloc_node_range_noprof(): reserve, populate with order-0 pages, map. */
  vmalloc(size: number, gfp: number, opts: VmallocOptions): VmArea | VmallocError {
    const r = this.vmallocArea(size, gfp, opts);
    return isVmallocError(r) ? r : view(r);
  }

  /**
   * vmap(pages, count, VM_MAP, PAGE_KERNEL): maps the given frames at a fresh area (guard page included: vmap
   * refuses VM_NO_GUARD). With putPages (VM_MAP_PUT_PAGES) the area owns them and vfree() frees them.
   */
  vmap(pfns: readonly number[], gfp: number, opts: { caller: string; putPages?: boolean }): VmArea | VmallocError {
    const count = pfns.length;
    if (count === 0 || count > this.totalram()) {
      return fail('KM5010', `vmap of ${count} pages returns NULL`, []);
    }
    const flags = VM_MAP | (opts.putPages ? VM_MAP_PUT_PAGES : 0);
    const area = this.getVmArea(count * PAGE_SIZE, PAGE_SIZE, flags, opts.caller, gfp);
    if (isVmallocError(area)) {
      return area;
    }
    if (!this.mapPages(area, pfns)) {
      this.removeVmArea(area);
      return fail('KM5011', 'vmap: page-table allocation failed, returns NULL', []);
    }
    if (opts.putPages) {
      area.pages = [...pfns];
    }
    return view(area);
  }

  /**
   * ioremap(phys, size) (arch/x86/mm/ioremap.c __ioremap_caller): reserves a VM_IOREMAP area for the pages
   * around [phys, phys + size), maps them, and returns the area and the address of phys inside it.
   */
  ioremap(phys: number, size: number, caller: string): { area: VmArea; va: bigint } | VmallocError {
    const last = phys + size - 1;
    if (!size || last < phys) {
      return fail('KM5012', 'ioremap of an empty or wrapping range returns NULL', []);
    }
    const offset = phys % PAGE_SIZE;
    const base = phys - offset;
    const mapSize = Math.ceil((last + 1) / PAGE_SIZE) * PAGE_SIZE - base;
    const area = this.getVmArea(mapSize, 1, VM_IOREMAP, caller, 0);
    if (isVmallocError(area)) {
      return area;
    }
    area.physAddr = base;
    const pfns = Array.from({ length: mapSize / PAGE_SIZE }, (_, i) => base / PAGE_SIZE + i);
    if (!this.mapPages(area, pfns)) {
      this.removeVmArea(area);
      return fail('KM5011', 'ioremap: page-table allocation failed, returns NULL', []);
    }
    return { area: view(area), va: area.addr + BigInt(offset) };
  }

  /** vfree(): unmaps the area containing addr, frees its pages and page array, releases the VA. */
  vfree(addr: bigint): VfreeResult | VmallocError | undefined {
    return this.release(addr, 'vfree', true);
  }

  /** vunmap(): as vfree() but the pages stay with their owner (vm->pages is not walked). */
  vunmap(addr: bigint): VfreeResult | VmallocError | undefined {
    return this.release(addr, 'vunmap', false);
  }

  /** find_vmap_area(): the area whose [addr, addr + size) holds va, guard page included. */
  findArea(va: bigint): VmAddressInfo | undefined {
    const a = this.containing(va);
    if (!a) {
      return undefined;
    }
    const offset = Number(va - a.addr);
    return { area: view(a), offset, inGuard: !(a.flags & VM_NO_GUARD) && offset >= a.size - PAGE_SIZE };
  }

  /** The nearest areas strictly below and above va (for an address in a hole, e.g. a stack overflow). */
  neighbours(va: bigint): { below?: VmArea; above?: VmArea } {
    const i = this.lastAtOrBefore(va);
    const inside = i >= 0 && va < this.busy[i]!.end;
    const below = inside ? this.busy[i - 1] : this.busy[i];
    const above = this.busy[i + 1];
    return { ...(below ? { below: view(below) } : {}), ...(above ? { above: view(above) } : {}) };
  }

  /**
   * A sentence on where va lies: "guard page of area 0x...-0x... (caller)", "offset N in area ...", "hole
   * between ...". Kernel stacks overflow downwards, so an overflow lands below its area.
   */
  describe(va: bigint): string {
    const hit = this.findArea(va);
    if (hit) {
      const what = hit.inGuard ? 'guard page of area' : `offset ${hit.offset} in area`;
      return `${what} ${areaName(hit.area)}`;
    }
    if (va < this.start || va >= this.end) {
      return 'outside the vmalloc space';
    }
    const { below, above } = this.neighbours(va);
    return `unmapped hole${below ? ` above area ${areaName(below)}` : ''}${below && above ? ' and' : ''}${
      above ? ` below area ${areaName(above)}` : ''
    }`;
  }

  /** Busy areas in address order. */
  areas(): VmArea[] {
    return this.busy.map(view);
  }

  /** Pages held by vmalloc areas (/proc/meminfo VmallocUsed = vmalloc_nr_pages()). */
  get nrVmallocPages(): number {
    let n = 0;
    for (const a of this.busy) {
      if (a.flags & VM_ALLOC) {
        n += a.pages.length;
      }
    }
    return n;
  }

  // --- the kernel's steps ---------------------------------------------------------------------------------

  private vmallocArea(size: number, gfp: number, opts: VmallocOptions): Area | VmallocError {
    const warn = !(gfp & __GFP_NOWARN);
    if (!Number.isSafeInteger(size) || size < 0) {
      return fail('KM5002', `vmalloc size ${size} is not a byte count`, []);
    }
    if (size === 0) {
      return fail('KM5001', 'vmalloc(0) returns NULL (WARN_ON_ONCE(!size) in __vmalloc_node_range)', []);
    }
    if (Math.floor(size / PAGE_SIZE) > this.totalram()) {
      const text = `vmalloc error: size ${size}, exceeds total pages`;
      return fail('KM5003', text, warn ? [{ text, gfp }] : []);
    }
    const align = opts.align ?? 1;
    if (!isPowerOfTwo(align)) {
      return fail('KM5004', `vmalloc alignment ${align} is not a power of two`, []);
    }
    const flags = VM_ALLOC | (opts.flags === 'user' ? VM_USERMAP : 0) | (opts.noGuard ? VM_NO_GUARD : 0);
    const area = this.getVmArea(size, align, flags | VM_UNINITIALIZED, opts.caller, gfp);
    if (isVmallocError(area)) {
      const nofail = gfp & __GFP_NOFAIL;
      const text = `vmalloc error: size ${size}, vm_struct allocation failed${nofail ? '. Retrying.' : ''}`;
      const log = warn ? [...area.log, { text, gfp }] : [];
      const message = nofail ? `${text} (the kernel retries for ever; the model gives up)` : text;
      return fail('KM5005', message, log);
    }
    const populated = this.vmallocAreaNode(area, gfp);
    if (isVmallocError(populated)) {
      return populated;
    }
    area.flags &= ~VM_UNINITIALIZED; // clear_vm_uninitialized_flag()
    return area;
  }

  /** __vmalloc_area_node(): page array, pages, mapping; on failure everything is vfree()d. */
  private vmallocAreaNode(area: Area, gfp: number): Area | VmallocError {
    const warn = !(gfp & __GFP_NOWARN);
    const nestedGfp = (gfp & GFP_RECLAIM_MASK) | __GFP_ZERO;
    const nrSmallPages = areaPages(area);
    const arraySize = nrSmallPages * 8;
    const pageGfp = gfp & (__GFP_DMA | __GFP_DMA32) ? gfp : gfp | __GFP_HIGHMEM;
    if (arraySize > PAGE_SIZE) {
      // "Please note that the recursion is strictly bounded": __vmalloc_node(array_size, 1, nested_gfp, ...).
      const array = this.vmallocArea(arraySize, nestedGfp, { caller: area.caller });
      if (isVmallocError(array)) {
        const text = `vmalloc error: size ${nrSmallPages * PAGE_SIZE}, failed to allocated page array size ${arraySize}`;
        this.removeVmArea(area); // free_vm_area()
        return fail('KM5006', text, warn ? [...array.log, { text, gfp: pageGfp }] : []);
      }
      area.pagesArray = array;
    }
    // vm_area_alloc_pages(gfp_mask | __GFP_NOWARN, node, 0, nr_small_pages, area->pages)
    for (let i = 0; i < nrSmallPages; i++) {
      const pfn = this.host.allocPage(pageGfp | __GFP_NOWARN);
      if (pfn < 0) {
        const text = `vmalloc error: size ${area.pages.length * PAGE_SIZE}, failed to allocate pages`;
        this.vfreeArea(area, true);
        return fail('KM5007', text, warn ? [{ text, gfp: pageGfp }] : []);
      }
      area.pages.push(pfn);
    }
    if (!this.mapPages(area, area.pages)) {
      const text = `vmalloc error: size ${area.pages.length * PAGE_SIZE}, failed to map pages`;
      this.vfreeArea(area, true);
      return fail('KM5008', text, warn ? [{ text, gfp: pageGfp }] : []);
    }
    return area;
  }

  /**
   * __get_vm_area_node(): page-align, pick the ioremap alignment, add the guard page, alloc_vmap_area().
   * Returns the reserved (unmapped) area or the alloc_vmap_area() overflow warning.
   */
  private getVmArea(size: number, align: number, flags: number, caller: string, gfp: number): Area | VmallocError {
    const requestedSize = size;
    size = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    if (flags & VM_IOREMAP) {
      align = 2 ** Math.min(Math.max(Math.ceil(Math.log2(size)), PAGE_SHIFT), IOREMAP_MAX_ORDER);
    }
    if (!(flags & VM_NO_GUARD)) {
      size += PAGE_SIZE;
    }
    const addr = this.allocVmapArea(size, align);
    if (addr === undefined) {
      // alloc_vmap_area() overflow path (after a purge, which the model does not need): pr_warn, -EBUSY.
      const text = `vmalloc_node_range for size ${size} failed: Address range restricted to 0x${this.start.toString(16)} - 0x${this.end.toString(16)}`;
      return fail('KM5009', text, gfp & __GFP_NOWARN ? [] : [{ text }]);
    }
    const area: Area = {
      addr,
      end: addr + BigInt(size),
      size,
      requestedSize,
      flags,
      caller,
      pages: [],
      mapped: 0,
      physAddr: 0,
    };
    this.busy.splice(this.lastAtOrBefore(addr) + 1, 0, area);
    return area;
  }

  /** __alloc_vmap_area(): the lowest address in [start, end) where `size` bytes fit at `align`. */
  private allocVmapArea(size: number, align: number): bigint | undefined {
    const len = BigInt(size);
    const al = BigInt(align);
    let holeStart = this.start;
    for (const a of this.busy) {
      const addr = alignUp(holeStart, al);
      if (addr + len <= a.addr && addr + len <= this.end) {
        return addr;
      }
      if (a.end > holeStart) {
        holeStart = a.end;
      }
    }
    const addr = alignUp(holeStart, al);
    return addr + len <= this.end ? addr : undefined;
  }

  /** vmap_pages_range(): one PTE per page from area.addr; stops at the first failure. */
  private mapPages(area: Area, pfns: readonly number[]): boolean {
    for (let i = 0; i < pfns.length; i++) {
      if (!this.host.map(area.addr + BigInt(i) * PAGE, pfns[i]!)) {
        return false;
      }
      area.mapped = i + 1;
    }
    return true;
  }

  /** remove_vm_area(): clear the PTEs (vunmap_range_noflush) and give the VA back. */
  private removeVmArea(area: Area): void {
    for (let i = 0; i < area.mapped; i++) {
      this.host.unmap(area.addr + BigInt(i) * PAGE);
    }
    area.mapped = 0;
    const i = this.busy.indexOf(area, Math.max(0, this.lastAtOrBefore(area.addr)));
    if (i >= 0) {
      this.busy.splice(i, 1);
    }
  }

  /** vfree() of a found area: remove it, free its pages (when owned), then kvfree(vm->pages). */
  private vfreeArea(area: Area, freePages: boolean): void {
    this.removeVmArea(area);
    if (freePages) {
      for (const pfn of area.pages) {
        this.host.freePage(pfn);
      }
      if (area.pagesArray) {
        this.vfreeArea(area.pagesArray, true);
      }
    }
  }

  private release(addr: bigint, fn: 'vfree' | 'vunmap', freePages: boolean): VfreeResult | VmallocError | undefined {
    if (addr === 0n) {
      return undefined;
    }
    const p = addr.toString(16).padStart(16, '0');
    const nonexistent = { text: `Trying to ${fn}() nonexistent vm area (${p})` };
    if (addr % PAGE !== 0n) {
      const bad = { text: `Trying to vfree() bad address (${p})` };
      return fail('KM5013', `${bad.text}: remove_vm_area() WARNs and nothing is freed`, [bad, nonexistent]);
    }
    const area = this.containing(addr);
    if (!area) {
      return fail('KM5014', `${nonexistent.text}: ${fn}() WARNs and nothing is freed`, [nonexistent]);
    }
    const owned = freePages && (!!(area.flags & VM_ALLOC) || !!(area.flags & VM_MAP_PUT_PAGES));
    this.vfreeArea(area, owned);
    return { area: view(area), offset: Number(addr - area.addr) };
  }

  private containing(va: bigint): Area | undefined {
    const i = this.lastAtOrBefore(va);
    const a = i >= 0 ? this.busy[i] : undefined;
    return a && va < a.end ? a : undefined;
  }

  /** Index of the last busy area with addr <= va, -1 if none. */
  private lastAtOrBefore(va: bigint): number {
    let lo = 0;
    let hi = this.busy.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.busy[mid]!.addr <= va) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private totalram(): number {
    return this.host.totalramPages?.() ?? Number.MAX_SAFE_INTEGER;
  }
}

/** get_vm_area_size() in pages: the mapped part, without the guard page. */
function areaPages(a: { size: number; flags: number }): number {
  return (a.size - (a.flags & VM_NO_GUARD ? 0 : PAGE_SIZE)) / PAGE_SIZE;
}

function view(a: Area): VmArea {
  return {
    addr: a.addr,
    size: a.size,
    requestedSize: a.requestedSize,
    flags: a.flags,
    caller: a.caller,
    nrPages: a.pages.length,
    pages: [...a.pages],
    physAddr: a.physAddr,
    ...(a.pagesArray ? { pagesArray: a.pagesArray.addr } : {}),
  };
}

function areaName(a: VmArea): string {
  return `0x${a.addr.toString(16)}-0x${(a.addr + BigInt(a.size)).toString(16)} (${a.caller})`;
}

function fail(code: string, message: string, log: VmallocError['log']): VmallocError {
  return { code, message, log };
}

function alignUp(x: bigint, align: bigint): bigint {
  return ((x + align - 1n) / align) * align;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}
