/*
 * The virtual layouts of engine/mm/arch.ts against the documents they come from (Linux 6.12):
 *   Documentation/arch/x86/x86_64/mm.rst      the 4-level and 5-level tables ("Start addr" / "End addr")
 *   Documentation/arch/riscv/vm-layout.rst    the Sv39 and Sv48 tables
 * Ends in arch.ts are exclusive, so each is checked as the document's inclusive end + 1.
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { archSpec, isCanonical, regionOf } from '../../engine/mm/arch';

const end = (inclusive: bigint): bigint => inclusive + 1n;

describe('layouts', () => {
  test('x86_64 (mm.rst, 4-level)', () => {
    const s = archSpec('x86_64');
    assert.equal(s.vaBits, 48);
    assert.equal(s.pageOffset + s.directMapSize, end(0xffffc87fffffffffn));
    assert.deepEqual([s.vmallocStart, s.vmallocEnd], [0xffffc90000000000n, end(0xffffe8ffffffffffn)]);
    assert.deepEqual([s.vmemmapStart, s.vmemmapEnd], [0xffffea0000000000n, end(0xffffeaffffffffffn)]);
    assert.deepEqual([s.kernelTextStart, s.kernelTextEnd], [0xffffffff80000000n, end(0xffffffff9fffffffn)]);
    assert.deepEqual([s.modulesStart, s.modulesEnd], [0xffffffffa0000000n, end(0xfffffffffeffffffn)]);
    assert.equal(s.userTop, 0x00007ffffffff000n);
  });

  test('x86_64-la57 (mm.rst, 5-level)', () => {
    const s = archSpec('x86_64-la57');
    assert.equal(s.pageOffset, 0xff11000000000000n);
    assert.equal(s.pageOffset + s.directMapSize, end(0xff90ffffffffffffn));
    assert.deepEqual([s.vmallocStart, s.vmallocEnd], [0xffa0000000000000n, end(0xffd1ffffffffffffn)]);
    assert.deepEqual([s.vmemmapStart, s.vmemmapEnd], [0xffd4000000000000n, end(0xffd5ffffffffffffn)]);
    assert.equal(s.userTop, 0x00fffffffffff000n);
  });

  test('sv39 and sv48 (vm-layout.rst)', () => {
    const a = archSpec('sv39');
    assert.equal(a.satpMode, 8);
    assert.deepEqual([a.fixmapStart, a.fixmapEnd], [0xffffffc4fea00000n, end(0xffffffc4feffffffn)]);
    assert.deepEqual([a.pciIoStart, a.pciIoEnd], [0xffffffc4ff000000n, end(0xffffffc4ffffffffn)]);
    assert.deepEqual([a.vmemmapStart, a.vmemmapEnd], [0xffffffc500000000n, end(0xffffffc5ffffffffn)]);
    assert.deepEqual([a.vmallocStart, a.vmallocEnd], [0xffffffc600000000n, end(0xffffffd5ffffffffn)]);
    assert.equal(a.pageOffset + a.directMapSize, end(0xfffffff5ffffffffn));
    assert.deepEqual([a.modulesStart, a.kernelTextStart], [0xffffffff00000000n, 0xffffffff80000000n]);
    assert.equal(a.userTop, end(0x0000003fffffffffn));
    const b = archSpec('sv48');
    assert.equal(b.satpMode, 9);
    assert.deepEqual([b.fixmapStart, b.pciIoStart], [0xffff8d7ffea00000n, 0xffff8d7fff000000n]);
    assert.deepEqual([b.vmemmapStart, b.vmemmapEnd], [0xffff8d8000000000n, end(0xffff8f7fffffffffn)]);
    assert.deepEqual([b.vmallocStart, b.vmallocEnd], [0xffff8f8000000000n, end(0xffffaf7fffffffffn)]);
    assert.equal(b.pageOffset + b.directMapSize, end(0xffffef7fffffffffn));
    assert.equal(b.userTop, end(0x00007fffffffffffn));
  });
});

describe('regionOf', () => {
  test('names the region of an address', () => {
    const x = archSpec('x86_64');
    const cases: [bigint, string][] = [
      [0x400000n, 'user'],
      [0x00007ffffffff000n, 'hole'], // the guard page below 2^47
      [0x0000800000000000n, 'non-canonical'],
      [0xffff800000000000n, 'hole'], // hypervisor guard hole
      [0xffff888000000000n, 'direct map'],
      [0xffffc90000001000n, 'vmalloc'],
      [0xffffea0000000040n, 'vmemmap'],
      [0xffffffff81000000n, 'kernel text'],
      [0xffffffffc0001000n, 'modules'],
      [0xffffffffff600000n, 'fixmap'], // the vsyscall page is a fixmap slot
      [0xffffffffffe00000n, 'hole'],
    ];
    for (const [va, name] of cases) assert.equal(regionOf(x, va), name, va.toString(16));
    const r = archSpec('sv39');
    assert.equal(regionOf(r, 0x0000004000000000n), 'non-canonical');
    assert.equal(regionOf(r, 0xffffffc4ff000000n), 'PCI I/O');
    assert.equal(regionOf(r, 0xffffffd600000000n), 'direct map');
    assert.equal(regionOf(r, 0xffffffffffffffffn), 'kernel text');
  });

  test('canonical addresses: bits 63..vaBits-1 equal', () => {
    assert.equal(isCanonical(archSpec('x86_64'), 0xffff800000000000n), true);
    assert.equal(isCanonical(archSpec('x86_64'), 0xff00000000000000n), false);
    assert.equal(isCanonical(archSpec('x86_64-la57'), 0xff00000000000000n), true);
    assert.equal(isCanonical(archSpec('sv39'), 0xffffffc000000000n), true);
    assert.equal(isCanonical(archSpec('sv39'), 0xffffffbfffffffffn), false);
    assert.equal(isCanonical(archSpec('x86_64'), 1n << 64n), false);
  });
});
