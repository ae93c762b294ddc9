/*
 * The bytes of emulated physical memory, stored sparsely: one 4 KiB buffer per frame that has ever been
 * written, none for the rest. A 64 GiB machine costs nothing until a scenario touches memory, and a page
 * that was never written reads as zeros.
 *
 * Contents follow the kernel's rules, not a fresh-memory illusion: freeing a page keeps its bytes, and an
 * allocation without __GFP_ZERO hands them out again (the allocator zeroes only on request, as
 * prep_new_page() does with __GFP_ZERO or init_on_alloc). zeroPage() drops the buffer, which is the same as
 * filling it with zeros. Page-table pages keep their entries here too, as 64-bit little-endian words, so a
 * scenario that corrupts memory can corrupt a page table exactly as it would on hardware.
 *
 * Invariant: every buffer is PAGE_SIZE bytes and owns its ArrayBuffer (views over it are safe to cache).
 */

import { PAGE_SHIFT, PAGE_SIZE } from './config';

export class PhysMem {
  private readonly pages = new Map<number, Uint8Array>();

  /** The bytes of frame pfn; with create false, undefined for a frame that reads as zeros. */
  page(pfn: number, create: true): Uint8Array;
  page(pfn: number, create?: boolean): Uint8Array | undefined;
  page(pfn: number, create = false): Uint8Array | undefined {
    let bytes = this.pages.get(pfn);
    if (bytes === undefined && create) {
      bytes = new Uint8Array(PAGE_SIZE);
      this.pages.set(pfn, bytes);
    }
    return bytes;
  }

  /** Frames that hold a buffer (memory the emulator spends on contents). */
  get residentPages(): number {
    return this.pages.size;
  }

  /** Makes frame pfn read as zeros (__GFP_ZERO, clear_page()). */
  zeroPage(pfn: number): void {
    this.pages.delete(pfn);
  }

  /** copy_page(): frame dst gets the bytes of frame src. */
  copyPage(dst: number, src: number): void {
    const from = this.pages.get(src);
    if (from === undefined) {
      this.pages.delete(dst);
    } else {
      this.page(dst, true).set(from);
    }
  }

  read8(phys: number): number {
    return this.pages.get(Math.floor(phys / PAGE_SIZE))?.[phys & (PAGE_SIZE - 1)] ?? 0;
  }

  write8(phys: number, value: number): void {
    this.page(Math.floor(phys / PAGE_SIZE), true)[phys & (PAGE_SIZE - 1)] = value;
  }

  /** Copies len bytes starting at phys (they may cross frames) into a new array. */
  read(phys: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.forEachChunk(phys, len, (pfn, offset, n, at) => {
      const bytes = this.pages.get(pfn);
      if (bytes !== undefined) out.set(bytes.subarray(offset, offset + n), at);
    });
    return out;
  }

  write(phys: number, data: Uint8Array): void {
    this.forEachChunk(phys, data.length, (pfn, offset, n, at) => {
      this.page(pfn, true).set(data.subarray(at, at + n), offset);
    });
  }

  fill(phys: number, len: number, value: number): void {
    this.forEachChunk(phys, len, (pfn, offset, n) => {
      if (value === 0 && offset === 0 && n === PAGE_SIZE) {
        this.pages.delete(pfn);
      } else if (value !== 0 || this.pages.has(pfn)) {
        this.page(pfn, true).fill(value, offset, offset + n);
      }
    });
  }

  /** memchr_inv(): the offset of the first byte of [phys, phys + len) other than value, or -1. */
  scan(phys: number, len: number, value: number): number {
    let at = 0;
    while (at < len) {
      const addr = phys + at;
      const pfn = Math.floor(addr / PAGE_SIZE);
      const offset = addr - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - offset, len - at);
      const bytes = this.pages.get(pfn);
      if (bytes === undefined) {
        if (value !== 0) return at; // a page never written reads as zeros
      } else {
        const i = scanBytes(bytes, offset, n, value);
        if (i >= 0) return at + i;
      }
      at += n;
    }
    return -1;
  }

  /** A 64-bit little-endian word at an 8-byte aligned phys (a page-table entry). */
  readU64(phys: number): bigint {
    const bytes = this.pages.get(Math.floor(phys / PAGE_SIZE));
    if (bytes === undefined) return 0n;
    return new DataView(bytes.buffer).getBigUint64(phys & (PAGE_SIZE - 1), true);
  }

  writeU64(phys: number, value: bigint): void {
    const bytes = this.page(Math.floor(phys / PAGE_SIZE), true);
    new DataView(bytes.buffer).setBigUint64(phys & (PAGE_SIZE - 1), BigInt.asUintN(64, value), true);
  }

  private forEachChunk(
    phys: number,
    len: number,
    visit: (pfn: number, offset: number, n: number, at: number) => void,
  ): void {
    let at = 0;
    while (at < len) {
      const addr = phys + at;
      const pfn = Math.floor(addr / PAGE_SIZE);
      const offset = addr - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - offset, len - at);
      visit(pfn, offset, n, at);
      at += n;
    }
  }
}

/** Word views of page buffers, made once per buffer (buffers are never replaced, see the invariant). */
const words = new WeakMap<Uint8Array, Uint32Array>();

/** The index (from offset) of the first of n bytes of a page buffer other than value, or -1; 4 bytes a step. */
function scanBytes(bytes: Uint8Array, offset: number, n: number, value: number): number {
  let i = 0;
  for (; i < n && (offset + i) % 4 !== 0; i++) if (bytes[offset + i] !== value) return i;
  let view = words.get(bytes);
  if (view === undefined) {
    view = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
    words.set(bytes, view);
  }
  const word = (value * 0x01010101) >>> 0;
  for (let w = (offset + i) >>> 2; i + 4 <= n; i += 4, w++) {
    if (view[w] !== word) break;
  }
  for (; i < n; i++) if (bytes[offset + i] !== value) return i;
  return -1;
}

/** The frame that holds a physical address. */
export function physToPfn(phys: number): number {
  return Math.floor(phys / 2 ** PAGE_SHIFT);
}
