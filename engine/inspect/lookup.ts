/*
 * Address lookup, as crash's `kmem ADDR` answers it: for any address a scenario or the debugger holds, which
 * region of the kernel's address space it is in, which frame backs it, and who owns that frame.
 *
 * Regions come from the architecture's layout (arch.ts regionOf). A direct-map address is translated by
 * arithmetic (__pa); any other kernel address through init_mm's page table (the walk the MMU would do). The
 * frame's owner is found from the frame flags and the allocators' records, most specific first: slab object,
 * large kmalloc, alloc_pages block, vmalloc page, page-table page, per-CPU list, free block (with its migrate
 * type), memblock reservation. Nothing here changes the machine, and every lookup is bounded.
 */

import { MIGRATETYPE_NAMES, PAGEBLOCK_ORDER } from '../mm/buddy';
import { regionOf } from '../mm/arch';
import { PAGE_SIZE } from '../mm/config';
import { PG_ANON, PG_PGTABLE } from '../mm/frames';
import { Machine } from '../mm/machine';
import { AddressView, addressView } from './views';
import { objectLookup } from './slabviews';

export interface FrameOwner {
  /** One line on who holds the frame: "slab object of kmalloc-192", "free (order-3 block, Movable)", ... */
  readonly description: string;
  /** The page block's migrate type. */
  readonly pageblock: string;
}

export interface LookupView {
  readonly kind: 'lookup';
  readonly address: string;
  /** The region of the address space: direct map, vmalloc, kernel text, user, ... */
  readonly region: string;
  /** For vmalloc addresses: the area (and guard page) the address is in, or the hole it falls into. */
  readonly vmalloc?: string;
  /** The frame behind the address, when it is mapped; undefined for a hole, a guard page or user space. */
  readonly frame?: AddressView & FrameOwner;
  /** Why there is no frame, when there is none. */
  readonly unmapped?: string;
}

/** Who owns frame pfn, in words, with its page block's type. */
export function frameOwner(machine: Machine, phys: number): AddressView & FrameOwner {
  const view = addressView(machine, phys);
  const pfn = view.pfn;
  const pageblock = MIGRATETYPE_NAMES[machine.buddy.pageblockMt[pfn >> PAGEBLOCK_ORDER]!] ?? '?';
  const flags = machine.frames.flags[pfn]!;
  const hex = (n: number) => `0x${n.toString(16)}`;
  let description: string;
  switch (view.state) {
    case 'slab object': {
      const o = objectLookup(machine, phys);
      const where =
        o === undefined
          ? ''
          : o.state === 'padding'
            ? ', in the padding after the last object'
            : `, object ${o.index} (+${o.offset}), ${o.state}${o.allocatedAt && o.allocatedAt.line > 0 ? ` since line ${o.allocatedAt.line}` : ''}`;
      description = `slab page of ${view.cache} (${view.objectSize}-byte objects)${where}`;
      break;
    }
    case 'large kmalloc':
      description = `large kmalloc of ${view.objectSize} bytes (order-${view.order} block at pfn ${hex(view.headPfn!)})`;
      break;
    case 'pages':
      description = `alloc_pages block of order ${view.order} at pfn ${hex(view.headPfn!)}`;
      break;
    case 'free':
      description =
        view.cpu !== undefined
          ? `free, cached on CPU ${view.cpu}'s per-CPU list (order-${view.order} block at pfn ${hex(view.headPfn!)})`
          : `free: order-${view.order} block at pfn ${hex(view.headPfn!)} on the ${pageblockName(machine, view.headPfn!)} list`;
      break;
    case 'reserved': {
      const r = machine.reserved.find((x) => pfn >= x.startPfn && pfn < x.endPfn);
      description = `reserved at boot (${r?.name ?? 'not RAM'})${flags & PG_PGTABLE ? ', a page-table page' : ''}`;
      break;
    }
    default: {
      const anon = flags & PG_ANON ? machine.tasks.rmap.get(pfn) : undefined;
      if (anon) {
        const maps = anon.maps.slice(0, 4).map((m) => `pid ${m.task.pid} at 0x${m.va.toString(16)}`);
        const more = anon.maps.length > 4 ? ` and ${anon.maps.length - 4} more` : '';
        description = `anonymous user page (movable, on the LRU), mapped by ${maps.join(', ')}${more}`;
      } else if (flags & PG_PGTABLE) {
        description = 'page-table page';
      } else {
        const area = machine.vmalloc.areas().find((a) => a.pages.includes(pfn));
        description = area
          ? `vmalloc page ${area.pages.indexOf(pfn)} of the area at 0x${area.addr.toString(16)} (${area.caller})`
          : 'allocated page';
      }
    }
  }
  return { ...view, description, pageblock };
}

function pageblockName(machine: Machine, pfn: number): string {
  return MIGRATETYPE_NAMES[machine.buddy.pageblockMt[pfn >> PAGEBLOCK_ORDER]!] ?? '?';
}

/** kmem ADDR: where a virtual address lives and what backs it. */
export function lookupAddress(machine: Machine, va: bigint): LookupView {
  const address = `0x${BigInt.asUintN(64, va).toString(16).padStart(16, '0')}`;
  const region = regionOf(machine.arch, va);
  const base = { kind: 'lookup' as const, address, region };
  if (region === 'direct map') {
    const phys = machine.phys(va);
    if (phys === undefined) return { ...base, unmapped: 'beyond the end of RAM' };
    return { ...base, frame: frameOwner(machine, phys) };
  }
  const vmalloc = region === 'vmalloc' ? machine.vmalloc.describe(va) : undefined;
  const phys = machine.kernelPt.translate(va);
  if (phys < 0) {
    return {
      ...base,
      ...(vmalloc ? { vmalloc } : {}),
      unmapped: region === 'user' ? 'a user address: look it up in a task' : 'not mapped in the kernel page table',
    };
  }
  const pfn = Math.floor(phys / PAGE_SIZE);
  if (pfn < 0 || pfn >= machine.frames.count) {
    return { ...base, ...(vmalloc ? { vmalloc } : {}), unmapped: `maps pfn 0x${pfn.toString(16)}, outside RAM` };
  }
  return { ...base, ...(vmalloc ? { vmalloc } : {}), frame: frameOwner(machine, phys) };
}

/** The lookup as console text. */
export function formatLookup(v: LookupView): string {
  const lines = [`${v.address}: ${v.region}`];
  if (v.vmalloc) lines.push(`  vmalloc: ${v.vmalloc}`);
  if (v.frame) {
    const f = v.frame;
    lines.push(
      `  phys 0x${f.phys.toString(16)}, pfn 0x${f.pfn.toString(16)}, zone ${f.zone}, page block ${f.pageblock}`,
      `  ${f.description}`,
    );
  }
  if (v.unmapped) lines.push(`  ${v.unmapped}`);
  return lines.join('\n') + '\n';
}
