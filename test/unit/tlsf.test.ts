/*
 * TLSF heap (engine/heap/tlsf.ts) against M. Conte's tlsf.c (github.com/mattconte/tlsf, tlsf.c 3.1):
 * mapping_insert for every size up to 1 MiB against an independent formula, mapping_search's rounding, the
 * header bytes tlsf.c writes for a short hand-worked sequence, the constant step bound, tlsf_check after every
 * step of random malloc/memalign/realloc/free mixes with no overlap between live blocks, and corrupted bytes
 * reported without exceptions or endless loops. Seeded: the seed is printed as a test diagnostic and can be
 * changed with FC_SEED=<n>.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { ByteRegion } from '../../engine/heap/region';
import {
  Tlsf,
  TLSF_SIZE,
  TLSF_STEP_BOUND,
  FL_INDEX_COUNT,
  SMALL_BLOCK_SIZE,
  BLOCK_SIZE_MIN,
  adjustRequestSize,
  mappingInsert,
  mappingSearch,
} from '../../engine/heap/tlsf';

const FC_SEED = Number(process.env.FC_SEED ?? 1717);

function heap(region: ByteRegion, at?: number): Tlsf {
  const t = Tlsf.createWithPool(region, at);
  assert.ok(t instanceof Tlsf, JSON.stringify(t));
  return t;
}

/** The list a size belongs on, from the paper's definition rather than tlsf.c's bit tricks. */
function expectedInsert(size: number): [number, number] {
  if (size < 256) return [0, Math.floor(size / 8)]; // 32 linear lists of 8 bytes below SMALL_BLOCK_SIZE
  let b = 0;
  while (2 ** (b + 1) <= size) b++; // 2^b <= size < 2^(b+1)
  return [b - 7, Math.floor((size - 2 ** b) / 2 ** (b - 5))]; // fl counts from 2^8; 32 slices of [2^b, 2^(b+1))
}

/** The smallest size list (fl, sl) holds. */
function classMin(fl: number, sl: number): number {
  if (fl === 0) return sl * 8;
  const b = fl + 7;
  return 2 ** b + sl * 2 ** (b - 5);
}

test('tlsf.c constants for 64-bit: control_t is 6536 bytes, 25 first-level lists', () => {
  // control_t: block_null (4 words = 32) + fl_bitmap (4) + sl_bitmap[25] (100) = 136, blocks[25][32] * 8 = 6400.
  assert.equal(FL_INDEX_COUNT, 32 - 8 + 1);
  assert.equal(TLSF_SIZE, 136 + 25 * 32 * 8);
  assert.equal(SMALL_BLOCK_SIZE, 256);
  assert.equal(BLOCK_SIZE_MIN, 24);
  // adjust_request_size: align to 8, at least block_size_min, 0 for 0 and for sizes >= block_size_max.
  assert.equal(adjustRequestSize(0, 8), 0);
  assert.equal(adjustRequestSize(1, 8), 24);
  assert.equal(adjustRequestSize(25, 8), 32);
  assert.equal(adjustRequestSize(2 ** 32, 8), 0);
  assert.equal(adjustRequestSize(2 ** 32 - 8, 8), 2 ** 32 - 8);
});

test('mapping_insert gives the paper formula for every size 1..1 MiB', () => {
  for (let size = 1; size <= 1 << 20; size++) {
    const { fl, sl } = mappingInsert(size);
    const [efl, esl] = expectedInsert(size);
    if (fl !== efl || sl !== esl) assert.fail(`size ${size}: (${fl}, ${sl}), expected (${efl}, ${esl})`);
  }
  // KERNEL-FACTS example points: 256 starts fl 1; 1 MiB is fl 13, sl 0; 1 MiB - 1 is the last list of fl 12.
  assert.deepEqual(mappingInsert(256), { fl: 1, sl: 0 });
  assert.deepEqual(mappingInsert(1 << 20), { fl: 13, sl: 0 });
  assert.deepEqual(mappingInsert((1 << 20) - 1), { fl: 12, sl: 31 });
});

test('mapping_search rounds up to the first list whose every block fits, and no further', () => {
  // Requests reach block_locate_free adjusted (multiples of 8, >= 24); above SMALL_BLOCK_SIZE any size.
  const sizes: number[] = [];
  for (let s = 24; s < 256; s += 8) sizes.push(s);
  for (let s = 256; s <= 1 << 20; s++) sizes.push(s);
  for (const size of sizes) {
    const { fl, sl } = mappingSearch(size);
    // Every block on (fl, sl) is at least classMin(fl, sl): it must fit the request.
    const min = classMin(fl, sl);
    if (min < size) assert.fail(`size ${size}: list (${fl}, ${sl}) holds blocks of ${min}`);
    // The list before it holds blocks smaller than the request (the rounding went no further than needed).
    const prevMin = sl > 0 ? classMin(fl, sl - 1) : fl > 0 ? classMin(fl - 1, 31) : -1;
    if (!(prevMin < size)) assert.fail(`size ${size}: rounded past list (${fl}, ${sl - 1}) of ${prevMin}`);
  }
  // Below 256 no rounding: 24 stays on (0, 3); 257 rounds to 264 = (1, 1); 300 to 304 = (1, 6).
  assert.deepEqual(mappingSearch(24), { fl: 0, sl: 3 });
  assert.deepEqual(mappingSearch(257), { fl: 1, sl: 1 });
  assert.deepEqual(mappingSearch(300), { fl: 1, sl: 6 });
});

test('header bytes are those tlsf.c writes for add_pool, two mallocs and two frees (hand-worked)', () => {
  const r = new ByteRegion(0x100000, 0x10000);
  const t = Tlsf.create(r);
  assert.ok(t instanceof Tlsf);
  const w = (addr: number): number => r.read64(addr)!;
  const u32 = (addr: number): number => r.view.getUint32(addr - r.base, true);
  const NULL_BLOCK = 0x100000; // &control->block_null is the control structure's address
  const head = (fl: number, sl: number): number => w(0x100000 + 136 + 8 * (fl * 32 + sl));
  const flBitmap = (): number => u32(0x100000 + 32);
  const slBitmap = (fl: number): number => u32(0x100000 + 36 + 4 * fl);
  // control_construct: every list points at block_null, block_null links to itself.
  assert.equal(head(0, 0), NULL_BLOCK);
  assert.equal(head(24, 31), NULL_BLOCK);
  assert.equal(w(0x100010), NULL_BLOCK);

  // tlsf_add_pool(0x102000, 0x1000): pool_bytes = align_down(0x1000 - 16, 8) = 0xff0. The block starts 8 bytes
  // before the pool (0x101ff8) so its size word is the pool's first word; 0xff0 | free = 0xff1. mapping_insert
  // (0xff0): fls = 11, sl = (0xff0 >> 6) ^ 32 = 31, fl = 11 - 7 = 4. The sentinel sits at 0x102000 + 0xff0.
  assert.equal(t.addPool(0x102000, 0x1000), 0x102000);
  assert.equal(w(0x102000), 0xff1);
  assert.equal(w(0x102008), NULL_BLOCK); // next_free
  assert.equal(w(0x102010), NULL_BLOCK); // prev_free
  assert.equal(w(0x102ff0), 0x101ff8); // sentinel.prev_phys_block
  assert.equal(w(0x102ff8), 2); // sentinel: size 0, used, prev free
  assert.equal(flBitmap(), 1 << 4);
  assert.equal(slBitmap(4), 0x80000000);
  assert.equal(head(4, 31), 0x101ff8);
  assert.deepEqual(t.check(), []);

  // malloc(10): adjust = max(align_up(10, 8), 24) = 24; mapping_search(24) = (0, 3), empty; fl_bitmap above 0 gives
  // fl 4, sl 31. block_split at 24: the remainder starts at ptr + 24 - 8 = 0x102018 with 0xff0 - 32 = 0xfd0 bytes;
  // mapping_insert(0xfd0) = (4, 31) again. Steps: search 1, ffs 2, remove 1, split 1, mapping 1, insert 1 = 7.
  const a = t.malloc(10);
  assert.deepEqual(a, { ok: true, addr: 0x102008, steps: 7 });
  assert.equal(w(0x102000), 0x18); // used, prev used, size 24
  assert.equal(w(0x102018), 0x101ff8); // remainder.prev_phys_block (block_trim_free: block_link_next)
  assert.equal(w(0x102020), 0xfd1); // free; prev bit cleared again by block_mark_as_used
  assert.equal(w(0x102028), NULL_BLOCK);
  assert.equal(w(0x102030), NULL_BLOCK);
  assert.equal(w(0x102ff0), 0x102018);
  assert.equal(head(4, 31), 0x102018);
  assert.equal(w(0x100018), 0x102018); // block_null.prev_free: insert_free_block sets current->prev_free

  // malloc(100): adjust 104 = 0x68; remainder at ptr + 0x68 - 8 = 0x102028 + 0x60 = 0x102088 of 0xfd0 - 0x70 = 0xf60
  // bytes, mapping_insert(0xf60) = (4, (0xf60 >> 6) ^ 32 = 29).
  const b = t.malloc(100);
  assert.deepEqual(b, { ok: true, addr: 0x102028, steps: 7 });
  assert.equal(w(0x102020), 0x68);
  assert.equal(w(0x102088), 0x102018);
  assert.equal(w(0x102090), 0xf61);
  assert.equal(head(4, 31), NULL_BLOCK);
  assert.equal(head(4, 29), 0x102088);
  assert.equal(slBitmap(4), 1 << 29);

  // free(a): the next block (b's) gets its prev-free bit: 0x68 | 2 = 0x6a; a's word 0x18 | 1 = 0x19; no free
  // neighbour; a goes on (0, 3). Steps: mapping 1, insert 1.
  assert.deepEqual(t.free(a.addr), { ok: true, addr: 0, steps: 2 });
  assert.equal(w(0x102000), 0x19);
  assert.equal(w(0x102020), 0x6a);
  assert.equal(head(0, 3), 0x101ff8);
  assert.equal(flBitmap(), (1 << 4) | 1);
  assert.equal(slBitmap(0), 1 << 3);

  // free(b): block_merge_prev absorbs b into a (0x19 + 0x68 + 8 = 0x89), block_merge_next absorbs the remainder
  // (0x89 + 0xf60 + 8 = 0xff1): the pool is one free block again. Steps: 3 + 3 + 2 = 8, the free bound.
  assert.deepEqual(t.free(b.addr), { ok: true, addr: 0, steps: 8 });
  assert.equal(w(0x102000), 0xff1);
  assert.equal(w(0x102088), 0x101ff8); // block_absorb's block_link_next, left behind in the free payload
  assert.equal(w(0x102ff0), 0x101ff8);
  assert.equal(w(0x102ff8), 2);
  assert.equal(w(0x102020), 0x6b); // b's old size word, stale inside the free payload (tlsf.c does not clear it)
  assert.equal(head(0, 3), NULL_BLOCK);
  assert.equal(head(4, 29), NULL_BLOCK);
  assert.equal(head(4, 31), 0x101ff8);
  assert.equal(flBitmap(), 1 << 4);
  assert.equal(slBitmap(0), 0);
  assert.deepEqual(t.check(), []);
  assert.deepEqual(t.blocks(), [{ start: 0x102000, end: 0x102ff8, addr: 0x102008, size: 0xff0, used: false }]);
});

test('tlsf_create_with_pool puts the control structure first and one pool after it', () => {
  const r = new ByteRegion(0x40000000, 256 * 1024);
  const t = heap(r);
  assert.deepEqual(t.poolList(), [{ mem: 0x40000000 + TLSF_SIZE, bytes: 256 * 1024 - TLSF_SIZE }]);
  const s = t.stats();
  assert.equal(s.heapBytes, 256 * 1024);
  assert.equal(s.freeBytes, 256 * 1024 - TLSF_SIZE - 16);
  assert.equal(s.overheadBytes, TLSF_SIZE + 16);
  assert.equal(s.headerBytes, 16); // the free block's size word and the sentinel's
  assert.equal(s.fragmentation, 0);
  // The first allocation is the first payload of the pool.
  assert.equal(t.malloc(1).addr, 0x40000000 + TLSF_SIZE + 8);
});

test('free reports double frees, pointers that are not blocks and corrupted headers as error codes', () => {
  const r = new ByteRegion(0x10000, 0x8000);
  const t = heap(r);
  const a = t.malloc(40).addr;
  const b = t.malloc(40).addr;
  t.malloc(40);
  assert.deepEqual(t.free(0), { ok: true, addr: 0, steps: 0 }); // tlsf_free(NULL) does nothing
  assert.equal(t.free(a + 4).error?.code, 'KM6002'); // misaligned
  assert.equal(t.free(0x10000).error?.code, 'KM6002'); // the control structure
  assert.equal(t.free(0x90000).error?.code, 'KM6002'); // outside every pool
  assert.equal(t.free(a).ok, true);
  assert.equal(t.free(a).error?.code, 'KM6003'); // "block already marked as free"
  // A write past the end of a (a heap overflow) over b's size word: b's header no longer describes a block.
  r.write64(b - 8, 0x12340); // a used block's size that runs past the end of the pool
  const e = t.free(b);
  assert.equal(e.ok, false);
  assert.equal(e.error?.code, 'KM6004');
  r.write64(b - 8, 0x10); // smaller than block_size_min
  assert.equal(t.free(b).error?.code, 'KM6004');
  assert.ok(t.check().length > 0, 'tlsf_check sees the damage');
  // Nothing threw, and the heap still answers.
  assert.equal(typeof t.malloc(8).ok, 'boolean');
});

test('memalign returns aligned blocks and gives the leading gap back to the pool', () => {
  const r = new ByteRegion(0x200000, 64 * 1024);
  const t = heap(r);
  for (const align of [8, 16, 64, 256, 4096]) {
    const p = t.memalign(align, 100);
    assert.ok(p.ok);
    assert.equal(p.addr % align, 0, `align ${align}`);
    assert.ok(p.steps <= TLSF_STEP_BOUND.memalign);
    assert.deepEqual(t.check(), []);
  }
  assert.equal(t.memalign(24, 8).error?.code, 'KM6005');
  // The gaps were trimmed into free blocks, not lost: everything frees back to one block.
  for (const b of t.blocks()) if (b.used) assert.ok(t.free(b.addr).ok);
  assert.equal(t.stats().freeBlocks, 1);
});

test('realloc grows in place into a free neighbour, moves with the contents otherwise', () => {
  const r = new ByteRegion(0x300000, 32 * 1024);
  const t = heap(r);
  const a = t.malloc(64).addr;
  const b = t.malloc(64).addr;
  r.bytes.fill(0xab, a - r.base, a - r.base + 64);
  assert.equal(t.free(b).ok, true);
  const grown = t.realloc(a, 120); // b's block is free: block_merge_next, then block_trim_used
  assert.equal(grown.addr, a);
  assert.ok(grown.steps <= TLSF_STEP_BOUND.realloc);
  t.malloc(16); // now the block after a is used
  const moved = t.realloc(a, 1000);
  assert.notEqual(moved.addr, a);
  assert.deepEqual([...r.bytes.subarray(moved.addr - r.base, moved.addr - r.base + 64)], Array(64).fill(0xab));
  assert.deepEqual(t.check(), []);
  assert.equal(t.realloc(moved.addr, 0).addr, 0); // realloc(p, 0) frees
  assert.equal(t.free(moved.addr).error?.code, 'KM6003');
  const fresh = t.realloc(0, 32); // realloc(NULL, n) mallocs
  assert.ok(fresh.ok && fresh.addr !== 0);
  // A request that cannot be satisfied leaves the block as it was.
  const big = t.realloc(fresh.addr, 1 << 20);
  assert.equal(big.ok, false);
  assert.equal(big.error?.code, 'KM6007');
  assert.equal(t.blockSizeOf(fresh.addr), 32);
});

test('tlsf_remove_pool refuses a pool in use, and a second pool serves allocations', () => {
  const r = new ByteRegion(0x500000, 64 * 1024);
  const t = Tlsf.create(r);
  assert.ok(t instanceof Tlsf);
  assert.equal(t.addPool(0x500000 + 0x2000, 0x1000), 0x502000);
  assert.equal(t.addPool(0x500000 + 0x4000, 0x4000), 0x504000);
  assert.equal((t.addPool(0x500000 + 0x4800, 0x100) as { code: string }).code, 'KM6001'); // overlaps a pool
  assert.equal((t.addPool(0x500000 + 0x100, 0x100) as { code: string }).code, 'KM6001'); // overlaps control
  const big = t.malloc(0x2000); // only the second pool can hold it
  assert.ok(big.addr > 0x504000);
  assert.equal(t.removePool(0x504000)?.code, 'KM6006');
  assert.equal(t.free(big.addr).ok, true);
  assert.equal(t.removePool(0x504000), undefined);
  assert.equal(t.malloc(0x2000).ok, false);
  assert.deepEqual(t.check(), []);
});

test('rtos.kmem: 10,000 random mallocs in a 256 KiB heap never take more than the step bound', () => {
  const r = new ByteRegion(0x80000000, 256 * 1024);
  const t = heap(r);
  let seed = 42;
  const rand = (lo: number, hi: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return lo + (seed % (hi - lo + 1));
  };
  for (let i = 0; i < 10000; i++) {
    const p = t.malloc(rand(16, 4096));
    if (p.ok && rand(0, 1)) t.free(p.addr);
  }
  const s = t.stats();
  assert.ok(s.worstSteps <= 8 && s.worstSteps >= 7, `worst ${s.worstSteps}`);
  assert.ok(s.ops.malloc!.failures > 0, 'the heap fills up');
  assert.deepEqual(t.check(), []);
});

test('the step bounds are tight: a long random mix reaches each of them and never passes it', () => {
  const t = heap(new ByteRegion(0x1000000, 1 << 20));
  let seed = 1;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const live: number[] = [];
  for (let i = 0; i < 60000; i++) {
    const k = rnd(10);
    if (k < 5) {
      const r = k < 4 ? t.malloc(rnd(3000)) : t.memalign(1 << (3 + rnd(10)), rnd(3000));
      if (r.ok && r.addr) live.push(r.addr);
    } else if (live.length > 0) {
      const j = rnd(live.length);
      if (k < 8) {
        assert.ok(t.free(live[j]!).ok);
        live[j] = live[live.length - 1]!;
        live.pop();
      } else {
        const r = t.realloc(live[j]!, rnd(4000) + 1);
        if (r.ok) live[j] = r.addr;
      }
    }
  }
  const ops = t.stats().ops;
  for (const op of ['malloc', 'memalign', 'free', 'realloc'] as const) {
    assert.equal(ops[op]!.worstSteps, TLSF_STEP_BOUND[op], op);
  }
  assert.deepEqual(t.check(), []);
});

const opArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('malloc' as const), size: fc.oneof(fc.nat(300), fc.nat(6000)) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('memalign' as const),
      align: fc.constantFrom(8, 16, 32, 64, 128, 1024),
      size: fc.nat(2000),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('realloc' as const), pick: fc.nat(), size: fc.nat(4000) }) },
);

test('property: random malloc/memalign/realloc/free keep tlsf_check clean, blocks disjoint, steps bounded', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED}`);
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 250 }), (ops) => {
      const r = new ByteRegion(0x7000_0000, 48 * 1024);
      const h = heap(r);
      /** Live blocks: payload address, requested size, the byte they were filled with. */
      const live: { addr: number; size: number; tag: number }[] = [];
      let tagNext = 1;
      const fill = (b: { addr: number; size: number; tag: number }): void => {
        r.bytes.fill(b.tag, b.addr - r.base, b.addr - r.base + b.size);
      };
      const intact = (b: { addr: number; size: number; tag: number }): boolean => {
        const o = b.addr - r.base;
        const probe = [o, o + 7, o + (b.size >> 1), o + b.size - 8, o + b.size - 1].filter(
          (x) => x >= o && x < o + b.size,
        );
        return probe.every((x) => r.bytes[x] === b.tag);
      };
      for (const op of ops) {
        const before = JSON.stringify(op);
        switch (op.kind) {
          case 'malloc':
          case 'memalign': {
            const res = op.kind === 'malloc' ? h.malloc(op.size) : h.memalign(op.align, op.size);
            assert.ok(res.steps <= TLSF_STEP_BOUND[op.kind], `${before}: ${res.steps} steps`);
            if (op.size === 0) assert.equal(res.addr, 0);
            if (res.ok && res.addr !== 0) {
              if (op.kind === 'memalign') assert.equal(res.addr % op.align, 0);
              assert.ok(h.blockSizeOf(res.addr) >= op.size);
              const b = { addr: res.addr, size: op.size, tag: (tagNext++ % 255) + 1 };
              fill(b);
              live.push(b);
            } else {
              assert.ok(res.error !== undefined && res.error.code === 'KM6007', before);
            }
            break;
          }
          case 'free': {
            if (live.length === 0) break;
            const b = live.splice(op.pick % live.length, 1)[0]!;
            const res = h.free(b.addr);
            assert.ok(res.ok, `${before}: ${res.error?.message}`);
            assert.ok(res.steps <= TLSF_STEP_BOUND.free);
            break;
          }
          case 'realloc': {
            if (live.length === 0) break;
            const i = op.pick % live.length;
            const b = live[i]!;
            const res = h.realloc(b.addr, op.size);
            assert.ok(res.steps <= TLSF_STEP_BOUND.realloc, `${before}: ${res.steps} steps`);
            if (op.size === 0) {
              assert.ok(res.ok);
              live.splice(i, 1);
            } else if (res.ok) {
              const keep = Math.min(b.size, op.size);
              const kept = { addr: res.addr, size: keep, tag: b.tag };
              assert.ok(keep === 0 || intact(kept), `${before}: realloc lost the contents`);
              const nb = { addr: res.addr, size: op.size, tag: (tagNext++ % 255) + 1 };
              fill(nb);
              live[i] = nb;
            } else {
              assert.ok(intact(b), `${before}: a failed realloc touched the block`);
            }
            break;
          }
        }
        assert.deepEqual(h.check(), [], `after ${before}`);
        // Live blocks are exactly the used blocks of the walk, disjoint, and their bytes survived.
        const used = h
          .blocks()
          .filter((x) => x.used)
          .map((x) => x.addr);
        assert.deepEqual(
          used,
          live.map((b) => b.addr).sort((x, y) => x - y),
          `after ${before}`,
        );
        const sorted = [...live].sort((x, y) => x.addr - y.addr);
        for (let k = 1; k < sorted.length; k++) {
          assert.ok(sorted[k - 1]!.addr + sorted[k - 1]!.size <= sorted[k]!.addr - 8, 'live blocks overlap');
        }
        for (const b of live) assert.ok(intact(b), `after ${before}: block ${b.addr} was overwritten`);
      }
      const s = h.stats();
      assert.equal(s.heapBytes, s.usedBytes + s.freeBytes + s.overheadBytes);
      assert.ok(s.worstSteps <= TLSF_STEP_BOUND.realloc);
    }),
    { seed: FC_SEED, numRuns: 60 },
  );
});

test('property: corrupted bytes give error codes, never exceptions or endless loops', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED}`);
  const scribble = fc.record({
    at: fc.nat(),
    value: fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constantFrom(0, 1, 2, 3, 24)),
  });
  fc.assert(
    fc.property(
      fc.array(fc.nat(3000), { minLength: 1, maxLength: 20 }),
      fc.array(scribble, { minLength: 1, maxLength: 12 }),
      fc.array(fc.tuple(fc.nat(3), fc.nat(), fc.nat(3000)), { maxLength: 30 }),
      (sizes, scribbles, after) => {
        const r = new ByteRegion(0x1000_0000, 24 * 1024);
        const h = heap(r);
        const ptrs = sizes.map((s) => h.malloc(s).addr).filter((p) => p !== 0);
        for (let i = 0; i < ptrs.length; i += 2) h.free(ptrs[i]!);
        for (const s of scribbles) {
          // Half the scribbles hit the control structure, half the pool (headers, links, payloads).
          const at = s.at % 2 ? (s.at >> 1) % (TLSF_SIZE - 8) : TLSF_SIZE + ((s.at >> 1) % (24 * 1024 - TLSF_SIZE - 8));
          r.write64(r.base + (at & ~7), s.value);
        }
        assert.ok(Array.isArray(h.check()));
        h.stats();
        h.blocks();
        for (const [kind, pick, size] of after) {
          const p = ptrs.length ? ptrs[pick % ptrs.length]! : r.base + (pick % r.size);
          const res =
            kind === 0
              ? h.malloc(size)
              : kind === 1
                ? h.free(p)
                : kind === 2
                  ? h.realloc(p, size)
                  : h.memalign(64, size);
          assert.equal(typeof res.ok, 'boolean');
          if (!res.ok && res.error) assert.match(res.error.code, /^KM600[1-7]$/);
        }
        assert.ok(Array.isArray(h.check()));
      },
    ),
    { seed: FC_SEED, numRuns: 300 },
  );
});

test('check() ends on a free list that loops back on itself', () => {
  const r = new ByteRegion(0x20000, 0x4000);
  const h = heap(r);
  const a = h.malloc(64).addr;
  h.malloc(64);
  h.free(a);
  r.write64(a, a - 16); // a's next_free now points at a itself
  const problems = h.check();
  assert.ok(
    problems.some((p) => /twice|cycle/.test(p.message)),
    JSON.stringify(problems),
  );
});
