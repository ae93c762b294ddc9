/*
 * /proc/vmallocinfo (mm/vmalloc.c vmalloc_info_show, Linux 6.12): one line per busy vm area.
 *
 *   seq_printf("0x%pK-0x%pK %7ld", v->addr, v->addr + v->size, v->size)   size includes the guard page
 *   " %pS" of v->caller                       the symbol the caller recorded, printed here as given
 *   " pages=%d"    when v->nr_pages
 *   " phys=%pa"    when v->phys_addr          %pa: 0x and 16 hex digits
 *   " ioremap" (VM_IOREMAP), " sparse" (VM_SPARSE), " vmalloc" (VM_ALLOC), " vmap" (VM_MAP),
 *   " user" (VM_USERMAP), " dma-coherent" (VM_DMA_COHERENT), in that order
 *   " vpages"      when v->pages itself is a vmalloc address (the page array was vmalloc'ed: > 512 pages)
 *   " N%u=%u"      per memory node with pages (show_numa_info, CONFIG_NUMA), then "\n".
 * %pK prints 16 zero-padded hex digits: the raw address for root with kptr_restrict = 1 (the usual distro
 * setting); with kptr_restrict = 0 the kernel would print hashed values, which the model cannot reproduce.
 *
 * Order: since 6.9 the busy areas live in per-"vmap node" lists (nr_vmap_nodes = num_possible_cpus(), at most
 * 128; with one CPU there is a single node), an area belonging to node (va_start / vmap_zone_size) %
 * nr_vmap_nodes with vmap_zone_size = 16 pages (vmap_init_nodes, addr_to_node_id). vmalloc_info_show() walks
 * node 0's list, then node 1's...: each list is in address order, the file as a whole is not.
 *
 * Left out: areas without a vm_struct (vm_map_ram()'s "vm_map_ram" lines: its per-CPU vmap blocks are not
 * modelled), areas still VM_UNINITIALIZED (skipped by the kernel; the model never shows one), and the lazily
 * freed "0x%pK-0x%pK %7ld unpurged vm_area" lines of show_purge_info(): the model frees VA eagerly (see
 * engine/mm/vmalloc.ts).
 */

import { PAGE_SIZE } from '../mm/config';
import {
  VM_ALLOC,
  VM_DMA_COHERENT,
  VM_IOREMAP,
  VM_MAP,
  VM_NO_GUARD,
  VM_SPARSE,
  VM_USERMAP,
  VmArea,
  VmallocSpace,
} from '../mm/vmalloc';

/** vmap_init_nodes(): "Node partition is 16 pages." */
export const VMAP_ZONE_SIZE = 16 * PAGE_SIZE;
/** vmap_init_nodes(): at most 128 vmap nodes. */
export const MAX_VMAP_NODES = 128;

/** One vm area as plain JSON (addresses as 0x-prefixed 16-digit hex: they exceed 2^53). */
export interface VmallocAreaView {
  readonly start: string;
  /** addr + size: the end of the guard page (or of the last page with VM_NO_GUARD). */
  readonly end: string;
  /** vm->size, guard page included. */
  readonly size: number;
  readonly requestedSize: number;
  readonly caller: string;
  readonly nrPages: number;
  /** The device address of an ioremap area, else 0. */
  readonly physAddr: number;
  /** Flag words in the order /proc/vmallocinfo prints them: ioremap, sparse, vmalloc, vmap, user, dma-coherent. */
  readonly flags: readonly string[];
  readonly guardPage: boolean;
  /** The page array was vmalloc'ed (" vpages"); pagesArray is its area's start. */
  readonly vpages: boolean;
  readonly pagesArray?: string;
  /** Pages per NUMA node, index = node. */
  readonly pagesPerNode: readonly number[];
  /** (start / VMAP_ZONE_SIZE) % nrVmapNodes: which busy list holds the area. */
  readonly vmapNode: number;
  /** The frames behind the area, in address order. */
  readonly pfns: readonly number[];
}

export interface VmallocinfoView {
  readonly kind: 'vmallocinfo';
  /** nr_vmap_nodes: clamp(num_possible_cpus(), 1, 128). */
  readonly nrVmapNodes: number;
  /** In address order. */
  readonly areas: readonly VmallocAreaView[];
  /** Pages held by vmalloc (VM_ALLOC) areas: /proc/meminfo VmallocUsed in pages. */
  readonly vmallocPages: number;
}

/** nr_vmap_nodes for a machine with `cpus` possible CPUs (vmap_init_nodes, 64-bit). */
export function nrVmapNodes(cpus: number): number {
  return Math.min(Math.max(Math.trunc(cpus), 1), MAX_VMAP_NODES);
}

export function vmallocinfoView(
  space: VmallocSpace,
  cpus: number,
  nodeOfPfn: (pfn: number) => number = () => 0,
): VmallocinfoView {
  const nodes = nrVmapNodes(cpus);
  return {
    kind: 'vmallocinfo',
    nrVmapNodes: nodes,
    areas: space.areas().map((a) => areaView(a, nodes, nodeOfPfn)),
    vmallocPages: space.nrVmallocPages,
  };
}

export function areaView(a: VmArea, nodes: number, nodeOfPfn: (pfn: number) => number = () => 0): VmallocAreaView {
  const flags: string[] = [];
  if (a.flags & VM_IOREMAP) flags.push('ioremap');
  if (a.flags & VM_SPARSE) flags.push('sparse');
  if (a.flags & VM_ALLOC) flags.push('vmalloc');
  if (a.flags & VM_MAP) flags.push('vmap');
  if (a.flags & VM_USERMAP) flags.push('user');
  if (a.flags & VM_DMA_COHERENT) flags.push('dma-coherent');
  const pagesPerNode: number[] = [];
  for (const pfn of a.pages) {
    const node = nodeOfPfn(pfn);
    while (pagesPerNode.length <= node) pagesPerNode.push(0);
    pagesPerNode[node]!++;
  }
  return {
    start: hex(a.addr),
    end: hex(a.addr + BigInt(a.size)),
    size: a.size,
    requestedSize: a.requestedSize,
    caller: a.caller,
    nrPages: a.nrPages,
    physAddr: a.physAddr,
    flags,
    guardPage: !(a.flags & VM_NO_GUARD),
    vpages: a.pagesArray !== undefined,
    ...(a.pagesArray !== undefined ? { pagesArray: hex(a.pagesArray) } : {}),
    pagesPerNode,
    vmapNode: nodes > 1 ? Number((a.addr / BigInt(VMAP_ZONE_SIZE)) % BigInt(nodes)) : 0,
    pfns: [...a.pages],
  };
}

/** mm/vmalloc.c vmalloc_info_show(): vmap node by vmap node, each in address order; CONFIG_NUMA counts. */
export function formatVmallocinfo(view: VmallocinfoView, opts: { numa?: boolean } = {}): string {
  const numa = opts.numa ?? true;
  const ordered = view.areas
    .map((a, i) => ({ a, i }))
    .sort((x, y) => x.a.vmapNode - y.a.vmapNode || x.i - y.i)
    .map((x) => x.a);
  let out = '';
  for (const a of ordered) {
    out += `${a.start}-${a.end} ${String(a.size).padStart(7)}`;
    if (a.caller) out += ` ${a.caller}`;
    if (a.nrPages) out += ` pages=${a.nrPages}`;
    if (a.physAddr) out += ` phys=0x${a.physAddr.toString(16).padStart(16, '0')}`;
    for (const f of a.flags) out += ` ${f}`;
    if (a.vpages) out += ' vpages';
    if (numa) {
      a.pagesPerNode.forEach((n, node) => {
        if (n) out += ` N${node}=${n}`;
      });
    }
    out += '\n';
  }
  return out;
}

function hex(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}
