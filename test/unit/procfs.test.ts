/*
 * /proc/zoneinfo and /proc/meminfo (engine/inspect/procfs.ts):
 *  - golden files in test/unit/golden/ for a fresh 256M/2-CPU machine and a fresh 6G machine (on a mismatch
 *    the runner writes <name>.actual beside the golden; UPDATE_GOLDEN=1 rewrites the goldens);
 *  - every line re-built from the kernel's own format strings (mm/vmstat.c zoneinfo_show_print,
 *    fs/proc/meminfo.c show_val_kb) by a small printf, character by character;
 *  - the values: MemTotal = managed pages, MemAvailable = si_mem_available() with no page cache and no
 *    reclaimable slab = free - totalreserve_pages, Slab = SUnreclaim = slab pages + large kmalloc pages.
 */

import { describe, test } from 'node:test';
import { assertGolden } from './golden';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { GFP_KERNEL } from '../../engine/mm/gfp';
import {
  formatMeminfo,
  formatZoneinfo,
  meminfoView,
  procFileText,
  zoneinfoView,
  PROC_FILE_NAMES,
} from '../../engine/inspect/procfs';

const MiB = 1024 * 1024;

function boot(memoryBytes: number, cpus = 2): Machine {
  const m = Machine.boot({ memoryBytes, cpus });
  assert.ok(m instanceof Machine);
  return m;
}

/** The subset of lib/vsprintf.c the formats use: %s, %Ns, %-Ns, %d, %lu, %ld, %Nlu. */
function printf(format: string, ...args: (string | number)[]): string {
  let i = 0;
  return format.replace(/%(-?)(\d*)(s|d|lu|ld)/g, (_, left: string, width: string, conv: string) => {
    const value = args[i++];
    const text = conv === 's' ? String(value) : String(Math.trunc(Number(value)));
    const w = Number(width || 0);
    return left ? text.padEnd(w) : text.padStart(w);
  });
}

/**
 * mm/vmstat.c calculate_normal_threshold(): mem = managed >> (27 - PAGE_SHIFT) (128 MiB units); threshold =
 * 2 * fls(num_online_cpus()) * (1 + fls(mem)), at most 125.
 */
function refStatThreshold(managed: number, cpus: number): number {
  const fls = (x: number): number => (x === 0 ? 0 : x.toString(2).length);
  return Math.min(125, 2 * fls(cpus) * (1 + fls(Math.floor(managed / 2 ** 15))));
}

/** zoneinfo_show_print(), re-applied from its format strings to the view's numbers. */
function zoneinfoFromFormats(m: Machine): string {
  let out = '';
  for (const z of zoneinfoView(m).zones) {
    out += printf('Node %d, zone %8s', 0, z.zone);
    out += printf(
      '\n  pages free     %lu' +
        '\n        boost    %lu' +
        '\n        min      %lu' +
        '\n        low      %lu' +
        '\n        high     %lu' +
        '\n        promo    %lu' +
        '\n        spanned  %lu' +
        '\n        present  %lu' +
        '\n        managed  %lu' +
        '\n        cma      %lu',
      z.freePages,
      z.boost,
      z.min,
      z.low,
      z.high,
      z.promo,
      z.spanned,
      z.present,
      z.managed,
      z.cma,
    );
    out += printf('\n        protection: (%ld', z.protection[0]!);
    for (let i = 1; i < z.protection.length; i++) out += printf(', %ld', z.protection[i]!);
    out += ')';
    if (!z.populated) {
      out += '\n';
      continue;
    }
    out += printf('\n      %-12s %lu', 'nr_free_pages', z.freePages);
    // The per-CPU lists: seq_printf(m, "\n  pagesets"), then per online CPU the six "%i" fields of struct
    // per_cpu_pages and, with CONFIG_SMP, "\n  vm stats threshold: %d" (pzstats->stat_threshold).
    out += '\n  pagesets';
    for (const p of z.pagesets) {
      out += printf(
        '\n    cpu: %d' +
          '\n              count:    %d' +
          '\n              high:     %d' +
          '\n              batch:    %d' +
          '\n              high_min: %d' +
          '\n              high_max: %d',
        p.cpu,
        p.count,
        p.high,
        p.batch,
        p.highMin,
        p.highMax,
      );
      out += printf('\n  vm stats threshold: %d', refStatThreshold(z.managed, m.config.cpus));
    }
    // The kernel's %u for node_unreclaimable prints like %d here.
    out += printf('\n  node_unreclaimable:  %d' + '\n  start_pfn:           %lu', 0, z.startPfn);
    out += '\n';
  }
  return out;
}

describe('/proc/zoneinfo', () => {
  test('golden: fresh 256M, 2 CPUs', () =>
    assertGolden('zoneinfo-fresh-256M-2cpu.txt', formatZoneinfo(zoneinfoView(boot(256 * MiB)))));
  test('golden: fresh 6G', () =>
    assertGolden('zoneinfo-fresh-6G-2cpu.txt', formatZoneinfo(zoneinfoView(boot(6 * 1024 * MiB)))));

  for (const size of [16, 256, 4096, 6144, 65536]) {
    test(`${size}M: every line is the kernel's format string`, () => {
      const m = boot(size * MiB);
      m.kmalloc(100, GFP_KERNEL);
      m.allocPages(3, GFP_KERNEL);
      assert.equal(formatZoneinfo(zoneinfoView(m)), zoneinfoFromFormats(m));
    });
  }

  test('all four zones are listed; the empty ones stop after protection', () => {
    const text = formatZoneinfo(zoneinfoView(boot(256 * MiB)));
    assert.deepEqual(
      text.split('\n').filter((l) => l.startsWith('Node')),
      ['Node 0, zone      DMA', 'Node 0, zone    DMA32', 'Node 0, zone   Normal', 'Node 0, zone  Movable'],
    );
    assert.match(text, /Node 0, zone {3}Normal\n(?:.*\n){10} {8}protection: \(0, 0, 0, 0\)\nNode 0, zone {2}Movable\n/);
    assert.ok(text.endsWith('        protection: (0, 0, 0, 0)\n'));
  });

  test('pages free follows allocations; watermarks stay as booted', () => {
    const m = boot(256 * MiB);
    const before = zoneinfoView(m);
    m.allocPages(4, GFP_KERNEL);
    const after = zoneinfoView(m);
    assert.equal(after.zones[1]!.freePages, before.zones[1]!.freePages - 16);
    assert.deepEqual(
      after.zones.map((z) => [z.min, z.low, z.high, z.promo]),
      before.zones.map((z) => [z.min, z.low, z.high, z.promo]),
    );
  });
});

describe('/proc/meminfo', () => {
  test('golden: fresh 256M, 2 CPUs', () =>
    assertGolden('meminfo-fresh-256M-2cpu.txt', formatMeminfo(meminfoView(boot(256 * MiB)))));
  test('golden: fresh 6G', () =>
    assertGolden('meminfo-fresh-6G-2cpu.txt', formatMeminfo(meminfoView(boot(6 * 1024 * MiB)))));

  test('every line is show_val_kb\'s "%-16s%8lu kB" (labels padded to 16 in the source)', () => {
    const view = meminfoView(boot(256 * MiB));
    const expected = view.lines.map((l) => printf('%-16s%8lu kB\n', `${l.label}:`, l.kb)).join('');
    assert.equal(formatMeminfo(view), expected);
    for (const line of formatMeminfo(view).trimEnd().split('\n')) {
      assert.match(line, /^[A-Za-z_()]+: *\d+ kB$/);
      assert.ok(line.length >= 27, line);
    }
  });

  test('MemTotal, MemFree, MemAvailable (si_mem_available) and Slab on a fresh 256M machine', () => {
    const m = boot(256 * MiB);
    const v = meminfoView(m);
    // 65536 - 256 (low 1 MiB) - 2048 (kernel image) - 5 (boot page tables) - 1024 (memmap) = 62203 managed
    // pages = 248812 kB, all free.
    assert.equal(v.memTotal, 248812);
    assert.equal(v.memFree, 248812);
    // totalreserve_pages 970 (see watermarks.test.ts): (62203 - 970) * 4 = 244932 kB.
    assert.equal(v.memAvailable, 244932);
    assert.equal(v.slab, 0);
  });

  test('Slab = SUnreclaim counts slab pages and large kmallocs; MemAvailable drops with free pages', () => {
    const m = boot(256 * MiB);
    m.kmalloc(64, GFP_KERNEL); // one order-0 slab of kmalloc-64
    m.kmalloc(16384, GFP_KERNEL); // kmalloc_large, order 2: 4 pages
    const v = meminfoView(m);
    assert.equal(v.sUnreclaim, 5 * 4);
    assert.equal(v.slab, 20);
    assert.equal(v.sReclaimable, 0);
    // MemFree is NR_FREE_PAGES, which does not count the per-CPU lists. DMA32's batch is 15 (zone_batchsize):
    // the order-0 refill takes 15 pages (nr_pcp_alloc: batch 15 << alloc_factor 0, at most high - count - batch
    // = 306 - 0 - 15), the order-2 refill max(15 >> 2, 2) = 3 blocks of 4 pages: 62203 - 15 - 12 = 62176.
    assert.equal(v.memFree, 62176 * 4);
    assert.equal(v.memAvailable, (62176 - 970) * 4);
    assert.equal(m.buddy.nrPcpPages, 15 - 1 + 12 - 4, 'what the refills took beyond the two allocations');
  });
});

test('procFileText serves every /proc file the hosts offer', () => {
  const m = boot(256 * MiB);
  assert.deepEqual(
    [...PROC_FILE_NAMES],
    ['slabinfo', 'buddyinfo', 'pagetypeinfo', 'zoneinfo', 'meminfo', 'vmallocinfo', 'modules'],
  );
  assert.match(procFileText(m, 'slabinfo'), /^slabinfo - version: 2\.1\n/);
  assert.match(procFileText(m, 'buddyinfo'), /^Node 0, zone {6}DMA /);
  assert.match(procFileText(m, 'zoneinfo'), /^Node 0, zone {6}DMA\n {2}pages free {5}3840\n/);
  assert.match(procFileText(m, 'meminfo'), /^MemTotal: {9}248812 kB\n/);
  assert.match(procFileText(m, 'pagetypeinfo'), /^Page block order: 9\nPages per block: {2}512\n/);
});
