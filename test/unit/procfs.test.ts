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
    // 65536 - 256 reserved = 65280 managed pages = 261120 kB, all free.
    assert.equal(v.memTotal, 261120);
    assert.equal(v.memFree, 261120);
    // totalreserve_pages 1004 (see watermarks.test.ts): (65280 - 1004) * 4 = 257104 kB.
    assert.equal(v.memAvailable, 257104);
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
    assert.equal(v.memFree, (65280 - 5) * 4);
    assert.equal(v.memAvailable, (65280 - 5 - 1004) * 4);
  });
});

test('procFileText serves every /proc file the hosts offer', () => {
  const m = boot(256 * MiB);
  assert.deepEqual([...PROC_FILE_NAMES], ['slabinfo', 'buddyinfo', 'zoneinfo', 'meminfo']);
  assert.match(procFileText(m, 'slabinfo'), /^slabinfo - version: 2\.1\n/);
  assert.match(procFileText(m, 'buddyinfo'), /^Node 0, zone {6}DMA /);
  assert.match(procFileText(m, 'zoneinfo'), /^Node 0, zone {6}DMA\n {2}pages free {5}3840\n/);
  assert.match(procFileText(m, 'meminfo'), /^MemTotal: {9}261120 kB\n/);
});
