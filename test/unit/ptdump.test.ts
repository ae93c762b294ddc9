/*
 * Page-table dumps (engine/inspect/ptdump.ts) against text written by hand from the kernel's format:
 *
 *   arch/x86/mm/dump_pagetables.c (6.12 layout, read in a post-6.15 copy whose printing is unchanged):
 *     note_page():    "---[ %s ]---\n" marker headers, printed after the first range that reaches the marker;
 *                     "0x%0*lx-0x%0*lx   " then "%9lu%c " with units "BKMGTPE"
 *     printk_prot():  30 spaces when not present, else "USR "/"    ", "RW "/"ro ", "PWT ", "PCD ",
 *                     "PSE " (level <= 3), "PAT ", "GLB ", "NX "/"x  ", then the level name pgd..pte
 *     address_markers[]: User Space, Kernel Space, LDT remap, Low Kernel Mapping, vmalloc() Area, Vmemmap,
 *                     CPU entry Area, ESPfix Area, EFI Runtime Services, High Kernel Mapping, Modules, ...
 *   mm/ptdump.c + mm/pagewalk.c: holes noted once per empty upper-level entry (pte_hole with its depth),
 *     a final note_page(0, -1, 0) that ends the last range at 0x0000000000000000; 4-level x86 with
 *     runtime-folded p4d reports empty top-level entries as "p4d".
 *   arch/riscv/mm/ptdump.c: only present ranges, "0x%016lx-0x%016lx   " " 0x%016lx " "%9lu%c %s" and
 *     " %s" per pte_bits[] (N, MT, RSW, D, A, G, U, X, W, R, V), markers printed in a while loop.
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { archSpec, ArchName } from '../../engine/mm/arch';
import { PhysMem } from '../../engine/mm/physmem';
import {
  PAGE_KERNEL,
  PAGE_KERNEL_RO,
  PAGE_KERNEL_ROX,
  PageTable,
  PageTableHost,
  SZ_2M,
  SZ_4K,
} from '../../engine/mm/pgtable';
import { formatWalk, ptdump } from '../../engine/inspect/ptdump';

function table(arch: ArchName, first: number): PageTable {
  let next = first;
  const host: PageTableHost = { mem: new PhysMem(), allocTablePage: () => next++, freeTablePage: () => {} };
  return PageTable.createKernel(archSpec(arch), host)!;
}

describe('ptdump', () => {
  test('x86_64: /sys/kernel/debug/page_tables/kernel of a small kernel table', () => {
    const pt = table('x86_64', 0x100);
    assert.ok(pt.map(0xffff888000000000n, 0, SZ_2M, PAGE_KERNEL).ok); // direct map, 2M
    assert.ok(pt.map(0xffff888000200000n, 0x200, SZ_4K, PAGE_KERNEL_RO).ok); // direct map, 4K read-only
    assert.ok(pt.map(0xffffffff81000000n, 0x1000, SZ_2M, PAGE_KERNEL_ROX).ok); // kernel text
    const P = ' '.repeat(30); // printk_prot() of a non-present range
    const expected = [
      '---[ User Space ]---',
      `0x0000000000000000-0xffff880000000000    16777096T ${P}p4d`,
      '---[ Kernel Space ]---',
      `0xffff880000000000-0xffff888000000000         512G ${P}p4d`,
      '---[ LDT remap ]---',
      '0xffff888000000000-0xffff888000200000           2M     RW         PSE     GLB NX pmd',
      '---[ Low Kernel Mapping ]---',
      '0xffff888000200000-0xffff888000201000           4K     ro                 GLB NX pte',
      `0xffff888000201000-0xffff888000400000        2044K ${P}pte`,
      `0xffff888000400000-0xffff888040000000        1020M ${P}pmd`,
      `0xffff888040000000-0xffff890000000000         511G ${P}pud`,
      `0xffff890000000000-0xffffc90000000000          64T ${P}p4d`,
      '---[ vmalloc() Area ]---',
      `0xffffc90000000000-0xffffea0000000000          33T ${P}p4d`,
      '---[ Vmemmap ]---',
      `0xffffea0000000000-0xfffffe0000000000          20T ${P}p4d`,
      '---[ CPU entry Area ]---',
      `0xfffffe0000000000-0xffffff0000000000           1T ${P}p4d`,
      '---[ ESPfix Area ]---',
      `0xffffff0000000000-0xffffff8000000000         512G ${P}p4d`,
      `0xffffff8000000000-0xffffffef00000000         444G ${P}pud`,
      '---[ EFI Runtime Services ]---',
      `0xffffffef00000000-0xffffffff80000000          66G ${P}pud`,
      '---[ High Kernel Mapping ]---',
      `0xffffffff80000000-0xffffffff81000000          16M ${P}pmd`,
      '0xffffffff81000000-0xffffffff81200000           2M     ro         PSE     GLB x  pmd',
      `0xffffffff81200000-0xffffffffa0000000         494M ${P}pmd`,
      '---[ Modules ]---',
      `0xffffffffa0000000-0xffffffffc0000000         512M ${P}pmd`,
      `0xffffffffc0000000-0x0000000000000000           1G ${P}pud`,
      '',
    ].join('\n');
    const dump = ptdump(pt);
    assert.equal(dump.text, expected);
    const text = dump.ranges.find((r) => r.start === '0xffffffff81000000')!;
    assert.deepEqual(text, {
      start: '0xffffffff81000000',
      end: '0xffffffff81200000',
      size: '2M',
      level: 'pmd',
      present: true,
      flags: ['ro', 'PSE', 'GLB', 'x'],
      marker: 'High Kernel Mapping',
    });
    assert.equal(dump.ranges.length, expected.split('\n').filter((l) => l.startsWith('0x')).length);
  });

  test('x86_64-la57: empty top-level entries are pgd holes, the guard hole is skipped', () => {
    const pt = table('x86_64-la57', 0x100);
    const lines = ptdump(pt).text.split('\n');
    // [0, 2^56) then [GUARD_HOLE_END_ADDR = 0xff10000000000000, ~0UL); LDT remap starts at -240 << 48.
    // 0xff10000000000000 / 2^50 = 0xff10 / 4 = 16324 (P); one pgd entry is 2^48 = 256T.
    assert.deepEqual(lines.slice(0, 7), [
      '---[ User Space ]---',
      `0x0000000000000000-0xff10000000000000       16324P ${' '.repeat(30)}pgd`,
      '---[ Kernel Space ]---',
      `0xff10000000000000-0xff11000000000000         256T ${' '.repeat(30)}pgd`,
      '---[ LDT remap ]---',
      `0xff11000000000000-0xff12000000000000         256T ${' '.repeat(30)}pgd`,
      '---[ Low Kernel Mapping ]---',
    ]);
  });

  test('sv39: /sys/kernel/debug/kernel_page_tables prints present ranges with their physical start', () => {
    const pt = table('sv39', 0x80100);
    assert.ok(pt.map(0xffffffd600000000n, 0x80000, SZ_2M, PAGE_KERNEL).ok);
    assert.ok(pt.map(0xffffffd600200000n, 0x80200, SZ_4K, PAGE_KERNEL_RO).ok);
    const expected = [
      '---[ Fixmap start ]---',
      '---[ Fixmap end ]---',
      '---[ PCI I/O start ]---',
      '---[ PCI I/O end ]---',
      '---[ vmemmap start ]---',
      '---[ vmemmap end ]---',
      '---[ vmalloc() area ]---',
      '---[ vmalloc() end ]---',
      '---[ Linear mapping ]---',
      '0xffffffd600000000-0xffffffd600200000    0x0000000080000000         2M PMD .   ..     ..   D A G . . W R V',
      '0xffffffd600200000-0xffffffd600201000    0x0000000080200000         4K PTE .   ..     ..   . A G . . . R V',
      '---[ Modules/BPF mapping ]---',
      '---[ Kernel mapping ]---',
      '',
    ].join('\n');
    const dump = ptdump(pt);
    assert.equal(dump.text, expected);
    assert.deepEqual(dump.ranges[1], {
      start: '0xffffffd600200000',
      end: '0xffffffd600201000',
      size: '4K',
      level: 'PTE',
      present: true,
      flags: ['A', 'G', 'R', 'V'],
      marker: 'Linear mapping',
      phys: '0x0000000080200000',
    });
  });

  test('sv48: a 1G leaf in the pud is reported at the PUD level', () => {
    const pt = table('sv48', 0x80100);
    assert.ok(pt.map(0xffffaf8000000000n, 0x80000, 0x40000000, PAGE_KERNEL).ok);
    const line = ptdump(pt)
      .text.split('\n')
      .find((l) => l.startsWith('0x'));
    assert.equal(
      line,
      '0xffffaf8000000000-0xffffaf8040000000    0x0000000080000000         1G PUD .   ..     ..   D A G . . W R V',
    );
  });
});

describe('formatWalk', () => {
  test('one line per level, then the result', () => {
    const pt = table('x86_64', 0x100);
    assert.ok(pt.map(0xffff888000200000n, 0x200, SZ_4K, PAGE_KERNEL_RO).ok);
    // pgd[273] at 0x100000 + 273 * 8; tables 0x101 (pud), 0x102 (pmd), 0x103 (pte); pmd index 1, pte index 0.
    assert.equal(
      formatWalk(pt.spec, pt.walk(0xffff888000200123n)),
      [
        '0xffff888000200123: x86_64, CR3 -> pgd at 0x0000000000100000',
        '  pgd[273] @ 0x0000000000100888 = 0x0000000000101067  PRESENT RW USER ACCESSED DIRTY',
        '  pud[0]   @ 0x0000000000101000 = 0x0000000000102067  PRESENT RW USER ACCESSED DIRTY',
        '  pmd[1]   @ 0x0000000000102008 = 0x0000000000103067  PRESENT RW USER ACCESSED DIRTY',
        '  pte[0]   @ 0x0000000000103000 = 0x8000000000200121  PRESENT ACCESSED GLOBAL NX',
        '  => phys 0x0000000000200123 (pfn 0x200, 4K page at pte)',
        '',
      ].join('\n'),
    );
    assert.match(formatWalk(pt.spec, pt.walk(0xffff888000201000n)), /=> not mapped: pte entry not present\n$/);
    assert.match(formatWalk(pt.spec, pt.walk(0x0000800000000000n)), /non-canonical/);
  });
});
