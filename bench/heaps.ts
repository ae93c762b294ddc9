/*
 * Benchmark cases for the user-level heaps (engine/heap), for bench/bench.ts to run beside the kernel allocators.
 *
 * Pattern "heap.mixed": a live set of HEAP_LIVE objects of random sizes HEAP_MIN..HEAP_MAX (the rtos.kmem
 * story's 16..4096), seeded so every allocator sees the same sequence; the set is filled before the clock
 * starts; one op frees a random victim and allocates its replacement (an alloc/free pair).
 *   tlsf.mixed   engine/heap/tlsf.ts: Tlsf.createWithPool over a HEAP_REGION-byte region (headers in its bytes)
 *   thi.ng.heap  @thi.ng/malloc MemPool over an ArrayBuffer of the same size, the peer
 *
 * Each case is a setup(ops) -> { run(): ops done } pair in the shape bench.ts's Case.setup uses, so it can be
 * listed there with its own timing rules; measureOpsPerSec() is a small standalone timer for a quick run:
 *   npx tsx bench/heaps.ts
 */

import { performance } from 'node:perf_hooks';
import { MemPool } from '@thi.ng/malloc';

import { ByteRegion } from '../engine/heap/region';
import { Tlsf } from '../engine/heap/tlsf';

export const HEAP_LIVE = 2000;
export const HEAP_MIN = 16;
export const HEAP_MAX = 4096;
/** 16 MiB: room for the live set (about 4 MiB) with the fragmentation a random mix leaves. */
export const HEAP_REGION = 16 * 1024 * 1024;
const HEAP_SEED = 0x746c7366; // "tlsf"

/** Fresh state for one round, ready to run `ops` operations; run() returns the operations done. */
export interface HeapRound {
  run(): number;
}

/** The allocation interface both runs share (0 = failure, as malloc returns NULL). */
interface PairHeap {
  alloc(size: number): number;
  free(addr: number): void;
}

/** mulberry32: the small seeded PRNG every bench pattern uses (and glibc.ts's C program). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function mixedRound(heap: PairHeap, ops: number): HeapRound {
  const rand = prng(HEAP_SEED);
  const size = (): number => HEAP_MIN + (rand() % (HEAP_MAX - HEAP_MIN + 1));
  const live = new Float64Array(HEAP_LIVE);
  for (let i = 0; i < HEAP_LIVE; i++) live[i] = heap.alloc(size());
  return {
    run: () => {
      for (let i = 0; i < ops; i++) {
        const victim = rand() % HEAP_LIVE;
        heap.free(live[victim]!);
        live[victim] = heap.alloc(size());
      }
      return ops;
    },
  };
}

/** tlsf.mixed: the engine's TLSF heap. */
export function tlsfMixedRound(ops: number): HeapRound {
  const t = Tlsf.createWithPool(new ByteRegion(0x10000000, HEAP_REGION));
  if (!(t instanceof Tlsf)) throw new Error(`tlsf: ${t.message}`);
  return mixedRound(
    {
      alloc: (size) => {
        const r = t.malloc(size);
        if (!r.ok) throw new Error(`tlsf: malloc(${size}) failed: ${r.error?.message}`);
        return r.addr;
      },
      free: (addr) => {
        const r = t.free(addr);
        if (!r.ok) throw new Error(`tlsf: free: ${r.error?.code} ${r.error?.message}`);
      },
    },
    ops,
  );
}

/** thi.ng.heap: @thi.ng/malloc's MemPool on the same pattern. */
export function thingHeapMixedRound(ops: number): HeapRound {
  const pool = new MemPool({ size: HEAP_REGION });
  return mixedRound(
    {
      alloc: (size) => {
        const p = pool.malloc(size);
        if (p === 0) throw new Error(`@thi.ng/malloc: malloc(${size}) failed`);
        return p;
      },
      free: (addr) => {
        if (!pool.free(addr)) throw new Error(`@thi.ng/malloc: free(${addr}) refused`);
      },
    },
    ops,
  );
}

/** The cases, named as bench.ts's JSON output would name them. */
export const HEAP_CASES = [
  { name: 'tlsf.mixed', allocator: 'engine: TLSF (engine/heap/tlsf.ts)', setup: tlsfMixedRound },
  { name: 'thi.ng.heap', allocator: '@thi.ng/malloc MemPool', setup: thingHeapMixedRound },
] as const;

/** Median ops/s over `rounds` timed rounds of `ops` ops, each on fresh state (setup untimed), after one warm-up. */
export function measureOpsPerSec(setup: (ops: number) => HeapRound, ops = 20_000, rounds = 5): number {
  setup(ops).run();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const round = setup(ops);
    const t0 = performance.now();
    const done = round.run();
    rates.push(done / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1]!;
}

/** Both cases: ops/s, and the ratio to TLSF. */
export function benchHeaps(ops?: number, rounds?: number): { name: string; opsPerSec: number; ratio: number }[] {
  const rows = HEAP_CASES.map((c) => ({ name: c.name, opsPerSec: measureOpsPerSec(c.setup, ops, rounds) }));
  const base = rows[0]!.opsPerSec;
  return rows.map((r) => ({ ...r, ratio: r.opsPerSec / base }));
}

if (process.argv[1]?.endsWith('heaps.ts')) {
  for (const r of benchHeaps()) {
    console.log(
      `${r.name.padEnd(14)} ${Math.round(r.opsPerSec).toLocaleString('en').padStart(12)} ops/s  x${r.ratio.toFixed(2)}`,
    );
  }
}
