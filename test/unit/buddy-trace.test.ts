/*
 * A golden trace of the buddy allocator splitting and merging on a 16 MiB machine with one CPU: after each
 * step, the block handed out, the zone's free blocks per order (/proc/buddyinfo) split by migrate type
 * (/proc/pagetypeinfo), the page blocks per type and the per-CPU list's count. The first steps are also
 * checked against hand arithmetic below; the whole trace is pinned in test/unit/golden/buddy-trace-16M.txt.
 *
 * The fresh zone (engine/mm/boot.ts): DMA holds pfns 256..511 (order 8), 1536..4031 after the 4 MiB image at
 * 2 MiB and below the early page tables and memmap: 1536 order 9, 2048 order 10, 3072 order 9, 3584 order 8,
 * 3840 order 7, then the tail.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { pagetypeinfoView } from '../../engine/inspect/procfs';
import { assertGolden } from './golden';

const GFP_KERNEL = 0xcc0;
const GFP_HIGHUSER_MOVABLE = 0x100cca;
const MIB = 1024 * 1024;

function state(m: Machine): string {
  const z = pagetypeinfoView(m).zones[0]!;
  const nrFree = m.buddy.zones[0]!.nrFree;
  const types = z.freeByType
    .map((row, mt) => [['U', 'M', 'E', 'H', 'C', 'I'][mt], row] as const)
    .filter(([, row]) => row.some((n) => n > 0))
    .map(([t, row]) => `${t}[${row.join(' ')}]`)
    .join(' ');
  const blocks = z.blocksByType.map((n, mt) => (n ? `${['U', 'M', 'E', 'H', 'C', 'I'][mt]}${n}` : '')).join('');
  return `free [${Array.from(nrFree).join(' ')}] ${types} blocks ${blocks} pcp ${m.buddy.nrPcpPages}`;
}

test('split and merge on a 16M machine, step by step (golden)', () => {
  const m = Machine.boot({ memoryBytes: 16 * MIB, cpus: 1 });
  assert.ok(m instanceof Machine);
  const lines = [`boot: ${state(m)}`];
  const pfnOf = (phys: number) => (phys < 0 ? 'NULL' : `pfn ${phys / 4096}`);
  const step = (what: string, phys?: number) =>
    lines.push(`${what}${phys === undefined ? '' : ` -> ${pfnOf(phys)}`}: ${state(m)}`);

  // Unmovable order 3 with no Unmovable block: __rmqueue_fallback takes the largest Movable block, the order-10
  // block at pfn 2048, claims its two page blocks and splits it: 2048 is handed out, 2056 (3), 2064 (4) ...
  // 2560 (9) go back on the Unmovable lists.
  const a = m.allocPages(3, GFP_KERNEL);
  assert.equal(a / 4096, 2048);
  step('alloc_pages(3, GFP_KERNEL)', a);
  const b = m.allocPages(0, GFP_KERNEL);
  // The order-0 per-CPU list is empty: a refill of batch 1 (zone_batchsize of 2747 pages: 1) takes the
  // smallest Unmovable block, the order-3 one at 2056, and splits it.
  assert.equal(b / 4096, 2056);
  step('alloc_pages(0, GFP_KERNEL)', b);
  assert.equal(m.freePages(a, 3), undefined);
  step('free_pages(a, 3): onto the per-CPU list');
  assert.equal(m.freePages(b, 0), undefined);
  step('free_pages(b, 0): onto the per-CPU list');
  m.drainAllPages();
  step('drain_all_pages: every buddy merges');
  const c = m.allocPages(4, GFP_HIGHUSER_MOVABLE);
  step('alloc_pages(4, GFP_HIGHUSER_MOVABLE): Movable lists, no per-CPU list above order 3', c);
  const d = m.allocPages(10, GFP_KERNEL);
  step('alloc_pages(10, GFP_KERNEL)', d);
  assert.equal(m.freePages(c, 4), undefined);
  step('free_pages(c, 4)');
  assert.equal(m.freePages(d, 10), undefined);
  step('free_pages(d, 10)');
  assertGolden('buddy-trace-16M.txt', lines.join('\n') + '\n');
});
