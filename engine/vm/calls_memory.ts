/*
 * Memory access from scenarios: loads and stores of 1, 2, 4 and 8 bytes at a kernel address, little-endian as
 * on x86-64 and RISC-V, memset and memcpy. A load reads the machine's bytes as the kernel would
 * (Machine.readMemory), so a free slab object shows its (hardened) free pointer and a kmalloc'd object the
 * stale word the allocator left there. A store writes them as kernel code would (Machine.storeMemory): over
 * a free object's free pointer it rewires or corrupts that freelist, as the kernel's would be.
 *
 * Only the direct map of RAM is addressable here. Accesses are not refused because of allocations (a store past
 * an object or into a free one is what an overflow or a use-after-free does); the detectors judge them: SLUB
 * debugging's red zones and poison afterwards, and KASAN (kasan_checks.ts) at the access itself, as the
 * compiler's instrumentation and KASAN's memset/memcpy do.
 *
 * pointerArray() is the other half: the `void **p` arrays of the bulk calls, which the kernel reads and
 * writes in memory. A scenario passes an allocation, and the machine only writes into memory that is
 * allocated (inside one live slab object, or pages that are neither free, reserved nor page tables).
 */

import { PAGE_SIZE } from '../mm/config';
import { formatKernelFaultOops } from '../mm/oops';
import { PG_BUDDY, PG_PCP, PG_PGTABLE, PG_RESERVED, PG_SLAB } from '../mm/frames';
import { Machine } from '../mm/machine';
import { isAllocated } from '../mm/slub';
import type { CallFailure, GenericBuiltin } from './calls';
import { Value, formatValue, fromBigInt } from './values';

/** The physical range [phys, phys + len) behind the direct-map address ptr, or a failure. */
export function directMapRange(
  machine: Machine,
  name: string,
  ptr: Value,
  len: number,
  code: string,
): number | CallFailure {
  const phys = typeof ptr === 'bigint' ? machine.phys(ptr) : undefined;
  const last = typeof ptr === 'bigint' && len > 0 ? machine.phys(ptr + BigInt(len - 1)) : phys;
  if (phys === undefined || last === undefined) {
    return {
      code,
      message: `${name}: ${formatValue(ptr)}${len > 1 ? ` (${len} bytes)` : ''} is not a direct-map address inside memory`,
    };
  }
  return phys;
}

/** A piece of a kernel virtual range: len bytes at physical address phys. */
interface Piece {
  readonly phys: number;
  readonly len: number;
}

/**
 * The physical pieces behind the kernel virtual range [ptr, ptr + len): one piece in the direct map, one per
 * page in the vmalloc area (its pages are wherever the page allocator found them). A vmalloc page that is
 * not mapped (a guard page, a freed area) is the kernel's page-fault oops: KM4013, and the scenario stops.
 * Anything else is KM4120.
 */
export function kernelRange(
  machine: Machine,
  name: string,
  ptr: Value,
  len: number,
  write = false,
): Piece[] | CallFailure {
  const arch = machine.arch;
  const within = (start: bigint, end: bigint) =>
    typeof ptr === 'bigint' && ptr >= start && ptr + BigInt(Math.max(len, 1)) <= end;
  // The vmalloc space and the module space: pages mapped one by one into init_mm's page table.
  if (within(arch.vmallocStart, arch.vmallocEnd) || within(arch.modulesStart, arch.modulesEnd)) {
    ptr = ptr as bigint;
    const end = ptr + BigInt(Math.max(len, 1));
    const pieces: Piece[] = [];
    for (let va = ptr; va < end;) {
      const pageEnd = (va & ~BigInt(PAGE_SIZE - 1)) + BigInt(PAGE_SIZE);
      const n = Number((pageEnd < end ? pageEnd : end) - va);
      const phys = machine.kernelPt.translate(va);
      if (phys < 0) return unmappedKernelAccess(machine, name, va, write);
      pieces.push({ phys, len: n });
      va += BigInt(n);
    }
    return pieces;
  }
  const phys = directMapRange(machine, name, ptr, len, 'KM4120');
  return typeof phys === 'number' ? [{ phys, len }] : phys;
}

/** The page-fault oops of a kernel access to an unmapped vmalloc address (KM4013). */
function unmappedKernelAccess(machine: Machine, name: string, va: bigint, write: boolean): CallFailure {
  const r = machine.kernelPt.access(va, write ? 'write' : 'read', false);
  const report = r.ok
    ? `BUG: unable to handle page fault for address: ${va.toString(16).padStart(16, '0')}\n`
    : formatKernelFaultOops(machine, machine.kernelPt, va, r.fault, { pid: machine.pid, comm: machine.comm });
  machine.printk(report);
  return {
    code: 'KM4013',
    message: `${name}: ${formatValue(va)} is not mapped (${(va >= machine.arch.modulesStart ? machine.modules.space : machine.vmalloc).describe(va)}): ${report.slice(0, report.indexOf('\n'))}`,
    report,
  };
}

/** Machine.readMemory() over pieces. */
function readPieces(machine: Machine, pieces: readonly Piece[]): Uint8Array {
  if (pieces.length === 1) return machine.readMemory(pieces[0]!.phys, pieces[0]!.len);
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.len, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(machine.readMemory(p.phys, p.len), at);
    at += p.len;
  }
  return out;
}

/** Machine.storeMemory() over pieces. */
function storePieces(machine: Machine, pieces: readonly Piece[], data: Uint8Array): void {
  let at = 0;
  for (const p of pieces) {
    machine.storeMemory(p.phys, data.subarray(at, at + p.len));
    at += p.len;
  }
}

function load(width: 1 | 2 | 4 | 8): GenericBuiltin {
  const name = `read${width * 8}`;
  return {
    name,
    params: ['addr'],
    returnsValue: true,
    summary: `Loads the ${width * 8}-bit little-endian value at addr (a kernel address such as kmalloc or vmalloc returns, plus an offset), as the kernel would read it: a free object's free pointer is there, hardened as SLUB stores it.`,
    doc: 'The 1, 2, 4 or 8 bytes at `addr` (a direct-map or vmalloc address plus an offset; KM4120 otherwise, KM4013 for an unmapped vmalloc page such as a guard page), little-endian, as the kernel would read them: a free object holds its free pointer, hardened as SLUB stores it; a fresh `kmalloc` object keeps the stale word the allocator left there.',
    returns: 'a value',
    topic: 'memory',
    run(machine, [addr]) {
      // __asan_load<width>(): a bad load is reported, and happens (a fault, if any, comes after).
      if (typeof addr === 'bigint') machine.kasan?.check(addr, width, { kind: 'instrumented', write: false });
      if (typeof addr === 'bigint') machine.kfence?.check(addr, width, false); // a fault in the pool, handled
      const pieces = kernelRange(machine, name, addr!, width);
      if (!Array.isArray(pieces)) return pieces;
      const bytes = readPieces(machine, pieces);
      let v = 0n;
      for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
      return fromBigInt(v);
    },
  };
}

function store(width: 1 | 2 | 4 | 8): GenericBuiltin {
  const name = `write${width * 8}`;
  return {
    name,
    params: ['addr', 'value'],
    returnsValue: false,
    summary: `Stores the low ${width * 8} bits of value at addr, little-endian, as kernel code would: nothing checks the address belongs to a live object, so writing past an object or into a freed one corrupts what is there (a free object's free pointer included).`,
    doc: "Stores the low bits of `value` at `addr`, as kernel code would: nothing checks the address belongs to a live object. Past an object's end it lands in the next slot or a red zone; into a freed object it may overwrite its free pointer, which rewires that freelist (a word that decodes to another object of the slab) or corrupts it: the allocator then follows the pointer where the kernel would, handing out an address of the scenario's choosing (freelist poisoning) or faulting on it (KM4013, the kernel's oops). Store `p` itself to make one object point at another.",
    returns: 'nothing',
    topic: 'memory',
    run(machine, [addr, value]) {
      // __asan_store<width>(): a bad store is reported, and happens (a fault, if any, comes after).
      if (typeof addr === 'bigint') machine.kasan?.check(addr, width, { kind: 'instrumented', write: true });
      if (typeof addr === 'bigint') machine.kfence?.check(addr, width, true);
      const pieces = kernelRange(machine, name, addr!, width, true);
      if (!Array.isArray(pieces)) return pieces;
      let v = BigInt.asUintN(64, BigInt(value!));
      const bytes = new Uint8Array(width);
      for (let i = 0; i < width; i++, v >>= 8n) bytes[i] = Number(v & 0xffn);
      storePieces(machine, pieces, bytes);
      return undefined;
    },
  };
}

/** Bytes one memset or memcpy may touch: 16 MiB (a scenario's statement stays bounded). */
export const MEMORY_OP_MAX = 16 << 20;

function length(name: string, v: Value): number | CallFailure {
  if (typeof v !== 'number' || v < 0 || v > MEMORY_OP_MAX) {
    return {
      code: 'KM4120',
      message: `${name}: the length must be 0 to ${MEMORY_OP_MAX} bytes, not ${formatValue(v)}`,
    };
  }
  return v;
}

/** The doc memset() and memcpy() share, as one row of the builtin table of docs/language.md. */
const MEMSET_MEMCPY_DOC =
  '`n` bytes (up to 16M), with the rules of `read8` and `write8`; `memcpy` reads `src` as the kernel would (free pointers included) and handles overlap as `memmove`.';

export const MEMORY_BUILTINS: readonly GenericBuiltin[] = [
  load(1),
  load(2),
  load(4),
  load(8),
  store(1),
  store(2),
  store(4),
  store(8),
  {
    name: 'memset',
    params: ['addr', 'byte', 'n'],
    returnsValue: false,
    summary: 'Fills n bytes at addr with the low 8 bits of byte, as kernel memset() does (no bounds are checked).',
    doc: MEMSET_MEMCPY_DOC,
    returns: 'nothing',
    topic: 'memory',
    run(machine, [addr, byte, nArg]) {
      const n = length('memset', nArg!);
      if (typeof n !== 'number') return n;
      if (n === 0) return undefined;
      // KASAN's memset(): a range kasan_check_range() rejects is reported and not written.
      const via = '__asan_memset';
      if (typeof addr === 'bigint' && machine.kasan?.check(addr, n, { kind: 'range', write: true, via }) === false) {
        return undefined;
      }
      const pieces = kernelRange(machine, 'memset', addr!, n, true);
      if (!Array.isArray(pieces)) return pieces;
      if (typeof addr === 'bigint') machine.kfence?.check(addr, n, true);
      storePieces(machine, pieces, new Uint8Array(n).fill(Number(BigInt.asUintN(8, BigInt(byte!)))));
      return undefined;
    },
  },
  {
    name: 'memcpy',
    params: ['dst', 'src', 'n'],
    returnsValue: false,
    summary:
      'Copies n bytes from src to dst (overlapping ranges copy as memmove does). The source is read as the kernel would read it, free pointers included.',
    doc: MEMSET_MEMCPY_DOC,
    returns: 'nothing',
    topic: 'memory',
    run(machine, [dst, src, nArg]) {
      const n = length('memcpy', nArg!);
      if (typeof n !== 'number') return n;
      if (n === 0) return undefined;
      // KASAN's memcpy(): the source is checked as a read, then the destination as a write; either failing
      // is reported and nothing is copied.
      const kasan = machine.kasan;
      const via = '__asan_memcpy';
      if (
        kasan &&
        typeof src === 'bigint' &&
        typeof dst === 'bigint' &&
        !(
          kasan.check(src, n, { kind: 'range', write: false, via }) &&
          kasan.check(dst, n, { kind: 'range', write: true, via })
        )
      ) {
        return undefined;
      }
      const from = kernelRange(machine, 'memcpy', src!, n);
      if (!Array.isArray(from)) return from;
      const to = kernelRange(machine, 'memcpy', dst!, n, true);
      if (!Array.isArray(to)) return to;
      if (typeof src === 'bigint') machine.kfence?.check(src, n, false);
      if (typeof dst === 'bigint') machine.kfence?.check(dst, n, true);
      storePieces(machine, to, readPieces(machine, from));
      return undefined;
    },
  },
];

/** Most pointers one bulk call takes (the kernel's size_t has no such limit; an emulated run does). */
export const BULK_MAX = 1 << 16;

/**
 * The `void **p` argument of a bulk call: n pointers at ptr. The range must lie inside memory the scenario
 * owns: one allocated slab object (within its object size) or allocated pages.
 */
export function pointerArray(machine: Machine, name: string, ptr: Value, n: number): number | CallFailure {
  const len = n * 8;
  const phys = directMapRange(machine, name, ptr, len, 'KM4121');
  if (typeof phys !== 'number') return phys;
  const why = unownedReason(machine, phys, len);
  return why === undefined
    ? phys
    : { code: 'KM4121', message: `${name}: the array at ${formatValue(ptr)} (${n} pointers) ${why}` };
}

/** Why the machine may not write [phys, phys + len), or undefined when the range is allocated memory. */
function unownedReason(machine: Machine, phys: number, len: number): string | undefined {
  const first = Math.floor(phys / PAGE_SIZE);
  const last = Math.floor((phys + len - 1) / PAGE_SIZE);
  for (let pfn = first; pfn <= last; pfn++) {
    const flags = machine.frames.flags[pfn]!;
    if (flags & PG_SLAB) {
      const slab = machine.slub.slabAt(pfn);
      const cache = slab ? machine.slub.caches[slab.cache] : undefined;
      if (!slab || !cache) return 'is in a slab page the allocator no longer tracks';
      const g = cache.geometry;
      const offset = phys - slab.head * PAGE_SIZE - g.redLeftPad;
      const index = Math.floor(offset / g.size);
      if (offset < 0 || index >= g.objects || offset + len > index * g.size + g.objectSize) {
        return `does not fit inside one ${cache.name} object (${g.objectSize} bytes)`;
      }
      if (!isAllocated(slab.fp[index]!)) return `is inside a free ${cache.name} object`;
      return undefined; // within one live object, which is inside one slab
    }
    if (flags & (PG_RESERVED | PG_PGTABLE)) return 'overlaps reserved memory or a page-table page';
    if (flags & (PG_BUDDY | PG_PCP) || machine.buddy.findFreeBlock(pfn) || machine.buddy.findPcpBlock(pfn)) {
      return 'overlaps a free page';
    }
  }
  return undefined;
}
