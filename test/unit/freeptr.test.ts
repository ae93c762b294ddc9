/*
 * SLUB free pointers in the emulated bytes (engine/mm/freeptr.ts), checked against mm/slub.c of 6.12:
 *   freelist_ptr_encode(): encoded = (unsigned long)ptr ^ s->random ^ swab(ptr_addr) (hardened), or ptr;
 *   set_freepointer(): ptr_addr = object + s->offset;
 *   the allocation fast path (slab_alloc_node) does not clear the word: a kmalloc'd object without
 *   __GFP_ZERO still holds its stale free pointer; kzalloc (slab_post_alloc_hook) zeroes object_size bytes.
 * The reference encoder below is written from those lines, independently of freeptr.ts.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { Machine } from '../../engine/mm/machine';
import { GFP_KERNEL, __GFP_ZERO } from '../../engine/mm/gfp';
import { decodeFreePointer, encodeFreePointer, swab64 } from '../../engine/mm/freeptr';
import { rd } from '../../engine/inspect/rd';
import type { ArchName } from '../../engine/mm/arch';
import type { KmemCache } from '../../engine/mm/slub';

function boot(opts: { arch?: ArchName; hardenedFreelist?: boolean } = {}): Machine {
  const m = Machine.boot({ memoryBytes: 64 * 1024 * 1024, cpus: 2, ...opts });
  assert.ok(m instanceof Machine);
  return m;
}

/** swab64 by string reversal, unlike freeptr.ts's shifts. */
const refSwab = (x: bigint): bigint => BigInt(`0x${x.toString(16).padStart(16, '0').match(/../g)!.reverse().join('')}`);

function word(m: Machine, phys: number): bigint {
  return new DataView(m.readMemory(phys, 8).buffer).getBigUint64(0, true);
}

function cacheOf(m: Machine, name: string): KmemCache {
  return m.slub.caches.find((c) => c.name === name)!;
}

test('swab64 and the encoding round trip for any pointer and address (property)', () => {
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  fc.assert(
    fc.property(u64, u64, u64, (ptr, addr, random) => {
      assert.equal(swab64(addr), refSwab(addr));
      const stored = encodeFreePointer(ptr, addr, random);
      assert.equal(stored, ptr ^ random ^ refSwab(addr));
      assert.equal(decodeFreePointer(stored, addr, random), ptr);
      assert.equal(encodeFreePointer(ptr, addr, undefined), ptr, 'unhardened: the pointer itself');
    }),
    { seed: 4242, numRuns: 500 },
  );
});

test('a free object holds the encoded address of the next free object at s->offset; the last one an encoded NULL', () => {
  const m = boot();
  const cache = cacheOf(m, 'kmalloc-64'); // s->offset = ALIGN(64 / 2, 8) = 32 (free pointer in mid-object)
  assert.equal(cache.geometry.offset, 32);
  const a = m.kmalloc(64, GFP_KERNEL);
  const random = m.freePointers.randomOf(cache)!;
  // The fresh slab's objects 1..63 are free, chained in order (no freelist randomisation).
  for (const i of [1, 2, 62]) {
    const obj = a + i * 64;
    assert.equal(word(m, obj + 32), m.virt(obj + 64) ^ random ^ refSwab(m.virt(obj + 32)), `object ${i}`);
  }
  const last = a + 63 * 64;
  assert.equal(word(m, last + 32), random ^ refSwab(m.virt(last + 32)), 'NULL ^ random ^ swab(ptr_addr)');
  // Bytes outside the free pointer read as memory does (zeros on a fresh machine).
  assert.deepEqual([...m.readMemory(a + 64, 32)], new Array(32).fill(0));
  // Reading across objects and pages returns the words of every object the range covers.
  const span = m.readMemory(a + 64 + 36, 64);
  assert.deepEqual(
    [...span.subarray(60, 64)],
    [...m.readMemory(a + 128 + 32, 4)],
    'a range ending inside a word gets its first bytes',
  );
});

test('kmalloc leaves the stale free pointer in the object; kzalloc zeroes it; free writes a new one', () => {
  const m = boot();
  const cache = cacheOf(m, 'kmalloc-64');
  const random = m.freePointers.randomOf(cache)!;
  const a = m.kmalloc(64, GFP_KERNEL);
  const b = m.kmalloc(64, GFP_KERNEL); // object 1: its word still points at object 2
  assert.equal(b, a + 64);
  assert.equal(word(m, b + 32), m.virt(b + 64) ^ random ^ refSwab(m.virt(b + 32)), 'stale pointer after kmalloc');
  const c = m.kmalloc(64, GFP_KERNEL | __GFP_ZERO);
  assert.equal(word(m, c + 32), 0n, 'kzalloc zeroed object_size bytes, the word included');
  // kfree(b) pushes b on CPU 0's freelist, whose head was object 3: b's word now encodes object 3.
  assert.equal(m.kfree(b), undefined);
  assert.equal(word(m, b + 32), m.virt(a + 3 * 64) ^ random ^ refSwab(m.virt(b + 32)));
  // kfree(c) then kmalloc takes c back (LIFO): its word encodes b, as set_freepointer left it.
  assert.equal(m.kfree(c), undefined);
  assert.equal(m.kmalloc(64, GFP_KERNEL), c);
  assert.equal(word(m, c + 32), m.virt(b) ^ random ^ refSwab(m.virt(c + 32)));
});

test('krealloc copies the old object with its stale free pointer (memcpy of ksize bytes)', () => {
  const m = boot();
  const random = m.freePointers.randomOf(cacheOf(m, 'kmalloc-64'))!;
  const a = m.kmalloc(64, GFP_KERNEL);
  const stale = m.virt(a + 64) ^ random ^ refSwab(m.virt(a + 32));
  assert.equal(word(m, a + 32), stale);
  const grown = m.krealloc(a, 100, GFP_KERNEL);
  assert.equal(typeof grown, 'number');
  assert.equal(cacheOf(m, 'kmalloc-128').id, m.slub.cacheOf(grown as number)!.id);
  assert.equal(word(m, (grown as number) + 32), stale, 'the copy carries the old word');
});

test('without CONFIG_SLAB_FREELIST_HARDENED the word is the pointer; RISC-V pointers use its PAGE_OFFSET', () => {
  const plain = boot({ hardenedFreelist: false });
  const a = plain.kmalloc(64, GFP_KERNEL);
  assert.equal(plain.freePointers.randomOf(cacheOf(plain, 'kmalloc-64')), undefined);
  assert.equal(word(plain, a + 64 + 32), plain.virt(a + 128));
  assert.equal(plain.formatVirt(a + 128).slice(0, 10), '0xffff8880');

  const rv = boot({ arch: 'sv39', hardenedFreelist: false });
  const r = rv.kmalloc(64, GFP_KERNEL);
  assert.equal(word(rv, r + 64 + 32), rv.virt(r + 128));
  assert.equal(rv.formatVirt(r + 128).slice(0, 8), '0xffffff', 'the sv39 direct map is at 0xffffffd8...');
});

test('each cache has its own s->random, fixed across runs (a seeded stand-in for get_random_long)', () => {
  const m1 = boot();
  const m2 = boot();
  const r64 = m1.freePointers.randomOf(cacheOf(m1, 'kmalloc-64'))!;
  assert.equal(m2.freePointers.randomOf(cacheOf(m2, 'kmalloc-64')), r64);
  assert.notEqual(m1.freePointers.randomOf(cacheOf(m1, 'kmalloc-128')), r64);
  assert.ok(r64 > 0n && r64 < 1n << 64n);
});

test("rd prints words and ASCII as crash's rd does, and refuses what is not RAM's direct map", () => {
  const m = boot({ hardenedFreelist: false });
  const a = m.kmalloc(64, GFP_KERNEL);
  m.writeMemory(a, new TextEncoder().encode('KMEMtest'));
  const va = m.virt(a);
  const out = rd(m, va, 3);
  assert.ok('text' in out);
  const hexOf = (x: bigint): string => x.toString(16).padStart(16, '0');
  assert.equal(
    out.text,
    `${hexOf(va)}:  747365744d454d4b 0000000000000000   KMEMtest........\n` +
      `${hexOf(va + 16n)}:  0000000000000000                    ........\n`,
  );
  // Word 4 of the next object (s->offset 32) is its unhardened free pointer: the object after it.
  const next = rd(m, m.virt(a + 64 + 32), 1);
  assert.ok('text' in next);
  assert.equal(next.text.slice(19, 35), hexOf(m.virt(a + 128)));
  assert.deepEqual(rd(m, 0x10n, 1), { error: "10 is not a direct-map address of this machine's RAM (for 1 words)" });
  assert.ok('error' in rd(m, va + 4n, 1), 'unaligned');
  assert.ok('error' in rd(m, va, 0));
  assert.ok('error' in rd(m, va, 5000));
  assert.ok('error' in rd(m, m.virt(64 * 1024 * 1024 - 8), 2), 'runs past the end of RAM');
});

test('PhysMem.scan (memchr_inv in place): unaligned starts, page crossings, pages never written', async () => {
  const { PhysMem } = await import('../../engine/mm/physmem');
  const mem = new PhysMem();
  mem.fill(4090, 20, 0x6b); // 4090..4109, across the page boundary at 4096
  assert.equal(mem.scan(4090, 20, 0x6b), -1);
  assert.equal(mem.scan(4091, 19, 0x6b), -1);
  mem.write8(4100, 0x42);
  assert.equal(mem.scan(4090, 20, 0x6b), 10);
  assert.equal(mem.scan(4101, 9, 0x6b), -1);
  // Every offset of a 64-byte run finds the one bad byte, whatever the alignment of the start.
  mem.fill(8192, 64, 0xcc);
  for (let bad = 0; bad < 64; bad++) {
    mem.fill(8192, 64, 0xcc);
    mem.write8(8192 + bad, 0);
    for (const start of [0, 1, 2, 3, 5]) {
      const expected = bad >= start ? bad - start : -1;
      assert.equal(mem.scan(8192 + start, 64 - start, 0xcc), expected, `bad ${bad} start ${start}`);
    }
  }
  // A page never written reads as zeros.
  assert.equal(mem.scan(1 << 20, 4096, 0), -1);
  assert.equal(mem.scan(1 << 20, 4096, 0x5a), 0);
});
