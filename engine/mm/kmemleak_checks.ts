/*
 * kmemleak on the machine (CONFIG_DEBUG_KMEMLEAK, Linux 6.12 mm/kmemleak.c), with kmemleak.ts supplying the
 * scan and the report's text.
 *
 * What is tracked, as the kernel's hooks do: every slab object when it is allocated (kmemleak_alloc_recursive()
 * in slab_post_alloc_hook(), min_count 1), every large kmalloc (kmalloc_large: kmemleak_alloc()), every vmalloc
 * area (kmemleak_vmalloc(); min_count 1 here, where the kernel uses 2 and forwards the vm_struct's reference
 * with excess_ref: the emulator keeps no vm_struct in memory); each is forgotten when freed. Pages from the
 * page allocator are not tracked, as in the kernel.
 *
 * Roots: the scenario's live values (variables of every active frame and the operand stack: what registers
 * and stacks hold for kernel code), the kernel stack of every live task (what a scenario stored there), plus
 * the objects marked kmemleak_not_leak() (min_count 0: never reported, scanned, so what they point to is
 * reachable: a module's global data). A scan follows pointers stored in
 * emulated memory (write64 of one object's address into another) word by word.
 *
 * Time is the machine's clock (Machine.jiffies, HZ=1000): an object younger than 5 s is not reported yet, and
 * a leak whose bytes changed since the previous scan waits for the next one (the checksum rule), as in the
 * kernel: msleep() lets a scenario's time pass. kmemleak_scan() is one `echo scan > /sys/kernel/debug/kmemleak`;
 * at the end of a run the machine scans twice (kmemleak's thread scans every 10 minutes), so every leak still
 * unreferenced then is reported. Each new leak is printed as with kmemleak.verbose=1 and is a kmemleak event.
 */

import { PAGE_SIZE } from './config';
import type { Machine } from './machine';
import {
  KMEMLEAK_BLACK,
  KMEMLEAK_GREY,
  KmemleakMemory,
  KmemleakObject,
  KmemleakScanResult,
  SECS_SCAN_WAIT,
  formatKmemleakFile,
  formatUnreferenced,
  kmemleakScan,
} from './kmemleak';
import { THREAD_SIZE } from './vmalloc';
import { EventKind } from '../trace/events';

/** The allocator frame each entry point shows first in a backtrace. */
const ENTRY_FRAMES: Readonly<Record<string, string>> = {
  kmalloc: '__kmalloc_noprof',
  kmem_cache_alloc: 'kmem_cache_alloc_noprof',
  kmem_cache_alloc_bulk: 'kmem_cache_alloc_bulk_noprof',
  vmalloc: '__vmalloc_node_range_noprof',
};

/** A tracked block as allocation leaves it (the KmemleakObject is made when a scan needs it). */
interface Tracked {
  /** The physical address of a direct-map block, or -1 for a vmalloc area (then `virt` is set). */
  readonly phys: number;
  readonly virt: bigint | undefined;
  readonly size: number;
  readonly jiffies: number;
  readonly line: number;
  readonly entry: string;
  minCount: number;
  /** What the last scan left: object->checksum and OBJECT_REPORTED. */
  checksum: number;
  reported: boolean;
}

export class KmemleakTracker {
  /** Leaks reported (new suspected leaks of every scan). */
  reports = 0;
  /** Scans run. */
  scans = 0;
  /** Tracked direct-map blocks by physical address, vmalloc areas by address, each in allocation order. */
  private readonly byPhys = new Map<number, Tracked>();
  private readonly byVirt = new Map<bigint, Tracked>();
  private last: { objects: KmemleakObject[]; result: KmemleakScanResult } | undefined;

  constructor(private readonly machine: Machine) {}

  private track(phys: number, virt: bigint | undefined, size: number, entry: string): Tracked {
    const m = this.machine;
    return { phys, virt, size, jiffies: m.jiffies, line: m.line, entry, minCount: 1, checksum: 0, reported: false };
  }

  /** kmemleak_alloc() of a vmalloc area at virt. */
  alloc(virt: bigint, size: number, entry: string): void {
    this.byVirt.set(virt, this.track(-1, virt, size, entry));
  }

  /** kmemleak_free() of a vmalloc area. */
  free(virt: bigint): void {
    this.byVirt.delete(virt);
  }

  /** kmemleak_alloc() of a slab object or large kmalloc, by physical address. */
  allocPhys(phys: number, size: number, entry: string): void {
    this.byPhys.set(phys, this.track(phys, undefined, size, entry));
  }

  freePhys(phys: number): void {
    this.byPhys.delete(phys);
  }

  private find(virt: bigint): Tracked | undefined {
    const phys = this.machine.phys(virt);
    return phys !== undefined ? this.byPhys.get(phys) : this.byVirt.get(virt);
  }

  /** The struct kmemleak_object of a tracked block, for the scan and the report. */
  private objectOf(t: Tracked): KmemleakObject {
    return {
      pointer: t.virt ?? this.machine.virt(t.phys),
      size: t.size,
      minCount: t.minCount,
      comm: this.machine.comm,
      pid: this.machine.pid,
      jiffies: t.jiffies,
      trace: [`${ENTRY_FRAMES[t.entry] ?? t.entry}+0x0/0x0`, `line_${t.line}+0x0/0x1 [scenario]`],
      checksum: t.checksum,
      reported: t.reported,
    };
  }

  /**
   * kmemleak_not_leak() (min_count 0) or kmemleak_ignore() (min_count -1) of the block starting at virt;
   * false when kmemleak tracks no block there (the kernel warns "Trying to color unknown object").
   */
  mark(virt: bigint, how: 'not_leak' | 'ignore'): boolean {
    const t = this.find(virt);
    if (!t) {
      const kind = how === 'not_leak' ? 'grey' : 'black';
      this.machine.printk(`kmemleak: Trying to color unknown object at 0x${virt.toString(16)} as ${kind}\n`);
      return false;
    }
    t.minCount = how === 'not_leak' ? KMEMLEAK_GREY : KMEMLEAK_BLACK;
    return true;
  }

  /** Blocks tracked now. */
  get size(): number {
    return this.byPhys.size + this.byVirt.size;
  }

  /**
   * kmemleak_scan() with the scenario's live values as roots, at the machine's time (or `now`): prints each
   * new leak and the summary, records a kmemleak event per leak, and returns how many were new.
   */
  scan(pointers: readonly bigint[], now = this.machine.jiffies): number {
    const m = this.machine;
    const tracked = [...this.byPhys.values(), ...this.byVirt.values()];
    const objects = tracked.map((t) => this.objectOf(t));
    // scan_gray_list() after the roots: every live task's kernel stack (kmemleak_stack_scan, on by default).
    const stacks = [...(m.tasks?.tasks.values() ?? [])]
      .filter((t) => t.alive)
      .map((t) => ({ start: t.stack.addr, size: THREAD_SIZE }));
    const result = kmemleakScan(objects, stacks, this.memory, { now, pointers });
    this.scans++;
    tracked.forEach((t, i) => {
      t.checksum = result.checksum[i]!;
      t.reported = result.reported[i]!;
    });
    for (const i of result.newLeaks) {
      const o = objects[i]!;
      const bytes = this.memory.readBytes(o.pointer, Math.min(o.size, 32)) ?? new Uint8Array(0);
      for (const line of formatUnreferenced(o, bytes, result.checksum[i]!, { dmesg: true })) m.printk(`${line}\n`);
      this.reports++;
      m.recordReport(EventKind.Kmemleak, -1, Math.max(tracked[i]!.phys, 0), o.size);
    }
    if (result.summary) m.printk(`${result.summary}\n`);
    this.last = { objects: tracked.map((t) => this.objectOf(t)), result };
    return result.newLeaks.length;
  }

  /** The end of a run: kmemleak's thread would have scanned long after, twice (the checksum rule). */
  finalScan(pointers: readonly bigint[]): number {
    const later = this.machine.jiffies + SECS_SCAN_WAIT * 1000;
    return this.scan(pointers, later) + this.scan(pointers, later + SECS_SCAN_WAIT * 1000);
  }

  /** /sys/kernel/debug/kmemleak: the leaks the last scan left reported and unreferenced. */
  debugfsFile(): string {
    if (!this.last) return '';
    const lines = formatKmemleakFile(this.last.objects, this.last.result, this.memory);
    return lines.map((l) => `${l}\n`).join('');
  }

  /** Kernel memory as the scan reads it: the direct map, and vmalloc and module pages through init_mm's table. */
  private readonly memory: KmemleakMemory = {
    readBytes: (addr, len) => {
      const m = this.machine;
      const phys = m.phys(addr);
      if (phys !== undefined) {
        return m.phys(addr + BigInt(Math.max(len - 1, 0))) === undefined ? undefined : m.readMemory(phys, len);
      }
      const inVmalloc = addr >= m.arch.vmallocStart && addr < m.arch.vmallocEnd;
      const inModules = addr >= m.arch.modulesStart && addr < m.arch.modulesEnd;
      if (!inVmalloc && !inModules) return undefined;
      const out = new Uint8Array(len);
      for (let at = 0; at < len;) {
        const va = addr + BigInt(at);
        const n = Math.min(len - at, PAGE_SIZE - Number(va & BigInt(PAGE_SIZE - 1)));
        const p = m.kernelPt.translate(va);
        if (p < 0) return undefined;
        out.set(m.readMemory(p, n), at);
        at += n;
      }
      return out;
    },
  };
}
