/*
 * glibc's malloc as a peer on the mixed pattern: a small C program, written and built with the machine's C
 * compiler at bench time (skipped, and said so, when there is none), runs exactly the pattern of
 * bench.ts's mixedRound() (mulberry32 with the same seed, MIXED_LIVE live objects of MIXED_MIN..MIXED_MAX
 * bytes, each op frees a random one and allocates a replacement) and prints the median ops/s of its rounds.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROGRAM = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint32_t a;
static uint32_t mulberry32(void) {
  a += 0x6d2b79f5u;
  uint32_t t = a;
  t = (uint32_t)((uint64_t)(t ^ (t >> 15)) * (t | 1u));
  t ^= t + (uint32_t)((uint64_t)(t ^ (t >> 7)) * (t | 61u));
  return t ^ (t >> 14);
}

static int cmp(const void *x, const void *y) {
  double d = *(const double *)x - *(const double *)y;
  return d < 0 ? -1 : d > 0;
}

int main(int argc, char **argv) {
  if (argc != 7) return 2;
  long live = atol(argv[1]), min = atol(argv[2]), max = atol(argv[3]), ops = atol(argv[5]), rounds = atol(argv[6]);
  uint32_t seed = (uint32_t)strtoul(argv[4], 0, 0);
  double *rates = malloc(sizeof(double) * rounds);
  void **objs = malloc(sizeof(void *) * live);
  for (long r = 0; r < rounds; r++) {
    a = seed;
    for (long i = 0; i < live; i++) objs[i] = malloc(min + mulberry32() % (max - min + 1));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < ops; i++) {
      long v = mulberry32() % live;
      free(objs[v]);
      objs[v] = malloc(min + mulberry32() % (max - min + 1));
      if (!objs[v]) return 3;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rates[r] = ops / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    for (long i = 0; i < live; i++) free(objs[i]);
  }
  qsort(rates, rounds, sizeof(double), cmp);
  printf("%.0f\n", rates[rounds / 2]);
  return 0;
}
`;

/** glibc malloc/free pairs per second on the mixed pattern, or the reason it could not be measured. */
export function glibcMixed(
  p: { live: number; min: number; max: number; seed: number; ops: number },
  rounds: number,
): { opsPerSec: number } | { skipped: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kmem-bench-'));
  try {
    const source = join(dir, 'mixed.c');
    const binary = join(dir, 'mixed');
    writeFileSync(source, PROGRAM);
    try {
      execFileSync('cc', ['-O2', '-o', binary, source], { stdio: 'pipe' });
    } catch {
      return { skipped: 'no C compiler (cc) on this machine' };
    }
    const out = execFileSync(
      binary,
      [p.live, p.min, p.max, p.seed, p.ops, rounds].map((n) => String(n)),
      { encoding: 'utf8' },
    );
    return { opsPerSec: Number(out.trim()) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
