/*
 * Fresh boots of several machines: the memblock reservations, MemTotal and the early page tables computed
 * here by hand, and the /proc and debugfs files of each machine pinned as goldens (test/unit/golden/boot-*).
 *
 * Reservations (engine/mm/boot.ts): x86-64 keeps the first 1 MiB, RISC-V 512 KiB of firmware at the start
 * of RAM (0x80000000); the kernel image is 8 MiB (a quarter of RAM below 32 MiB); the memmap is 64 bytes per
 * frame, at the top of RAM; the early page tables that map the direct map (largest pages that fit) and the
 * kernel image (2 MiB pages) come from memblock too. MemTotal (fs/proc/meminfo.c) is totalram_pages, what
 * is left for the buddy allocator.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { ArchName } from '../../engine/mm/arch';
import { debugfsFileText, meminfoView, procFileText } from '../../engine/inspect/procfs';
import { checkPageAllocator } from '../../engine/mm/check';
import { assertGolden } from './golden';

const K = 1024;
const M = 1024 * K;
const G = 1024 * M;

interface Case {
  readonly arch: ArchName;
  readonly memory: number;
  readonly cpus: number;
  readonly name: string;
  /** MemTotal in kB, computed by hand below. */
  readonly memTotalKb: number;
  /** Early page-table pages, counted by hand. */
  readonly tables: number;
}

const CASES: readonly Case[] = [
  // 16M x86-64: the image (4M) cannot sit at 16M, so it goes to 2M. Direct map: 8 x 2M pages under one
  // pgd -> pud -> pmd chain (3 tables); the image at __START_KERNEL_map + 2M: pgd[511] -> a new pud -> a new
  // pmd (2 tables). 16384 - 1024 - 4096 - 256 (4096 frames x 64 B) - 5 x 4 = 10988 kB.
  { arch: 'x86_64', memory: 16 * M, cpus: 1, name: 'x86_64-16M-1cpu', memTotalKb: 10988, tables: 5 },
  // 256M x86-64: image 8M at 16M; direct map 128 x 2M (3 tables) + image (2). 262144 - 1024 - 8192 - 4096 -
  // 20 = 248812 kB.
  { arch: 'x86_64', memory: 256 * M, cpus: 2, name: 'x86_64-256M-2cpu', memTotalKb: 248812, tables: 5 },
  // 6G x86-64: direct map 6 x 1G pages in one pud (pgd + pud: 2 tables) + image (2). Memmap 1572864 frames x 64 B
  // = 98304 kB. 6291456 - 1024 - 8192 - 98304 - 16 = 6183920 kB.
  { arch: 'x86_64', memory: 6 * G, cpus: 4, name: 'x86_64-6G-4cpu', memTotalKb: 6183920, tables: 4 },
  // 256M Sv39 (pgd -> pmd -> pte): direct map 128 x 2M at pmd level (pgd + pmd), the image at
  // KERNEL_LINK_ADDR 0xffffffff80000000 (pgd[510] -> a new pmd): 3 tables. 262144 - 512 - 8192 - 4096 - 12 = 249332 kB.
  { arch: 'sv39', memory: 256 * M, cpus: 2, name: 'sv39-256M-2cpu', memTotalKb: 249332, tables: 3 },
  // 4G Sv48: RAM 0x80000000..0x180000000 at PAGE_OFFSET 0xffffaf8000000000 (pgd[351]): 1G-aligned, 4 x 1G
  // pages in one pud (pgd + pud); the image at 0xffffffff80000000: pgd[511] -> a new pud -> pud[510] -> a new
  // pmd of 2M pages: 4 tables. Memmap 1048576 frames x 64 B = 65536 kB. 4194304 - 512 - 8192 - 65536 - 16 =
  // 4120048 kB.
  { arch: 'sv48', memory: 4 * G, cpus: 4, name: 'sv48-4G-4cpu', memTotalKb: 4120048, tables: 4 },
];

for (const c of CASES) {
  test(`fresh boot: ${c.name}`, () => {
    const m = Machine.boot({ memoryBytes: c.memory, cpus: c.cpus, arch: c.arch });
    assert.ok(m instanceof Machine);
    const tables = m.reserved.find((r) => r.name === 'page tables')!;
    assert.equal(tables.endPfn - tables.startPfn, c.tables, 'early page-table pages');
    assert.equal(meminfoView(m).memTotal, c.memTotalKb, 'MemTotal');
    assert.equal(m.kernelPt.countTablePages(), c.tables);
    assert.deepEqual(checkPageAllocator(m).problems, []);
    const text = ['buddyinfo', 'pagetypeinfo', 'zoneinfo', 'meminfo', 'vmallocinfo']
      .map((name) => `==> /proc/${name} <==\n${procFileText(m, name as 'buddyinfo')}`)
      .concat(
        ['extfrag/unusable_index', 'extfrag/extfrag_index', 'page_tables/kernel'].map(
          (name) => `==> /sys/kernel/debug/${name} <==\n${debugfsFileText(m, name as 'page_tables/kernel')}`,
        ),
      )
      .join('\n');
    assertGolden(`boot-${c.name}.txt`, text);
  });
}

test('a 64 GiB machine with 5-level paging boots: 1 GiB of memmap, six early page tables', () => {
  const m = Machine.boot({ memoryBytes: 64 * G, cpus: 8, arch: 'x86_64-la57' });
  assert.ok(m instanceof Machine);
  // la57: pgd -> p4d -> pud with 64 x 1G pages (3 tables); the image at pgd[511] -> p4d -> pud -> pmd (3).
  // 67108864 - 1024 - 8192 - 1048576 (16777216 frames x 64 B) - 24 = 66051048 kB.
  assert.equal(meminfoView(m).memTotal, 66051048);
  assert.equal(m.kernelPt.countTablePages(), 6);
});
