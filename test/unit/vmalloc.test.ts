/*
 * The vmalloc address space (engine/mm/vmalloc.ts) and /proc/vmallocinfo (engine/inspect/vmallocinfo.ts)
 * against Linux 6.12 mm/vmalloc.c, with a Map-based fake host for pages and PTEs:
 *   - __get_vm_area_node(): size page-aligned plus one guard page unless VM_NO_GUARD; alloc_vmap_area() takes
 *     the lowest hole that fits at the requested alignment (first fit by address);
 *   - kernel stacks: alloc_thread_stack_node() asks __vmalloc_node_range(THREAD_SIZE = 16 KiB, THREAD_ALIGN =
 *     16 KiB) on x86-64 without KASAN (arch/x86/include/asm/page_64_types.h), so each stack area is 20 KiB at a
 *     16 KiB boundary: 0, 32K, 64K... from VMALLOC_START;
 *   - __vmalloc_area_node(): page array vmalloc'ed beyond 512 pages ("vpages"), order-0 pages one by one,
 *     mapping; failures print "vmalloc error: size %lu, failed to allocate pages" (size = pages obtained so far,
 *     area->nr_pages * PAGE_SIZE) or "... failed to map pages" and vfree() everything;
 *   - vfree(): NULL no-op, "Trying to vfree() bad address (%p)" + "Trying to vfree() nonexistent vm area (%p)";
 *   - vmalloc_info_show(): "0x%pK-0x%pK %7ld" caller " pages=%d" " phys=%pa" flags " vpages" " N0=%u", vmap
 *     node by vmap node (16-page zones, nr_vmap_nodes = possible CPUs).
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  isVmallocError,
  THREAD_ALIGN,
  THREAD_SIZE,
  VM_ALLOC,
  VM_USERMAP,
  VMALLOC_END,
  VMALLOC_START,
  VmallocError,
  VmallocHost,
  VmallocSpace,
  VmArea,
} from '../../engine/mm/vmalloc';
import { formatVmallocinfo, nrVmapNodes, vmallocinfoView } from '../../engine/inspect/vmallocinfo';
import { __GFP_HIGHMEM, __GFP_NOWARN, __GFP_ZERO, GFP_KERNEL } from '../../engine/mm/gfp';

const K1 = 1024n;
const S = VMALLOC_START;
const STACK_CALLER = 'alloc_thread_stack_node+0x4d/0x1a0';

/** Pages come from a counter (freed ones are reused LIFO); PTEs live in a Map keyed by virtual address. */
class FakeHost implements VmallocHost {
  readonly allocated = new Set<number>();
  readonly ptes = new Map<bigint, number>();
  private next = 1000;
  private readonly freed: number[] = [];
  allocCalls = 0;
  mapCalls = 0;
  /** allocPage fails from this call on (1-based), when set. */
  failAllocAt?: number;
  /** map fails on this call (1-based), when set. */
  failMapAt?: number;
  totalram?: number;
  readonly gfps: number[] = [];

  allocPage(gfp: number): number {
    this.allocCalls++;
    this.gfps.push(gfp);
    if (this.failAllocAt !== undefined && this.allocCalls >= this.failAllocAt) return -1;
    const pfn = this.freed.pop() ?? this.next++;
    this.allocated.add(pfn);
    return pfn;
  }
  freePage(pfn: number): void {
    assert.ok(this.allocated.delete(pfn), `double free of pfn ${pfn}`);
    this.freed.push(pfn);
  }
  map(va: bigint, pfn: number): boolean {
    this.mapCalls++;
    if (this.failMapAt !== undefined && this.mapCalls === this.failMapAt) return false;
    assert.ok(!this.ptes.has(va), `remapping already mapped va 0x${va.toString(16)}`);
    this.ptes.set(va, pfn);
    return true;
  }
  unmap(va: bigint): void {
    assert.ok(this.ptes.delete(va), `unmapping unmapped va 0x${va.toString(16)}`);
  }
  totalramPages(): number {
    return this.totalram ?? 65280;
  }
}

function space(host = new FakeHost(), end = VMALLOC_END): { host: FakeHost; vm: VmallocSpace } {
  return { host, vm: new VmallocSpace(S, end, host) };
}

function ok(r: VmArea | VmallocError): VmArea {
  assert.ok(!isVmallocError(r), isVmallocError(r) ? `${r.code}: ${r.message}` : '');
  return r as VmArea;
}

function err(r: unknown): VmallocError {
  assert.ok(isVmallocError(r), 'expected an error');
  return r;
}

function stack(vm: VmallocSpace): VmArea {
  return ok(vm.vmalloc(THREAD_SIZE, GFP_KERNEL | __GFP_ZERO, { align: THREAD_ALIGN, caller: STACK_CALLER }));
}

describe('vmalloc: placement', () => {
  test('VMALLOC_START/END of x86-64 4-level paging (Documentation/arch/x86/x86_64/mm.rst)', () => {
    assert.equal(VMALLOC_START, 0xffffc90000000000n);
    assert.equal(VMALLOC_END, 0xffffe8ffffffffffn);
  });

  test('first fit by address; each area is the page-aligned size plus a guard page', () => {
    const { vm, host } = space();
    const a = ok(vm.vmalloc(100, GFP_KERNEL, { caller: 'a' }));
    const b = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'b' }));
    const c = ok(vm.vmalloc(5000, GFP_KERNEL, { caller: 'c' }));
    // a: PAGE_ALIGN(100) = 4K + 4K guard = 8K at S; b: 8K at S+8K; c: PAGE_ALIGN(5000) = 8K + 4K = 12K at S+16K.
    assert.deepEqual(
      [a, b, c].map((x) => [x.addr - S, x.size, x.nrPages, x.requestedSize]),
      [
        [0n, 8192, 1, 100],
        [0x2000n, 8192, 1, 4096],
        [0x4000n, 12288, 2, 5000],
      ],
    );
    assert.equal(a.flags, VM_ALLOC);
    // Only the pages are mapped, never the guard pages.
    assert.deepEqual(
      [...host.ptes.keys()].map((va) => va - S),
      [0n, 0x2000n, 0x4000n, 0x5000n],
    );
    assert.deepEqual(c.pages, [host.ptes.get(S + 0x4000n), host.ptes.get(S + 0x5000n)]);
  });

  test('the page allocator sees gfp | __GFP_HIGHMEM | __GFP_NOWARN (__vmalloc_area_node, vm_area_alloc_pages)', () => {
    const { vm, host } = space();
    ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'x' }));
    assert.deepEqual(host.gfps, [GFP_KERNEL | __GFP_HIGHMEM | __GFP_NOWARN]);
  });

  test('kernel stacks: 16 KiB + guard at 16 KiB boundaries: S, S+32K, S+64K (12 KiB holes between)', () => {
    const { vm } = space();
    const stacks = [stack(vm), stack(vm), stack(vm)];
    assert.deepEqual(
      stacks.map((s) => [s.addr - S, s.size, s.nrPages]),
      [
        [0n, 20480, 4],
        [32n * 1024n, 20480, 4],
        [64n * 1024n, 20480, 4],
      ],
    );
  });

  test('alignment skips holes that fit only unaligned; later small requests fill them', () => {
    const { vm } = space();
    const a = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'a' })); // [0, 8K)
    const s = stack(vm); // ALIGN(8K, 16K) = 16K: [16K, 36K)
    const b = ok(vm.vmalloc(8192, GFP_KERNEL, { caller: 'b' })); // needs 12K: hole [8K, 16K) too small -> 36K
    const c = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'c' })); // needs 8K: hole [8K, 16K) fits
    assert.deepEqual(
      [a, s, b, c].map((x) => x.addr - S),
      [0n, 16n * K1, 36n * K1, 8n * K1],
    );
    assert.deepEqual(
      vm.areas().map((x) => x.caller),
      ['a', 'c', STACK_CALLER, 'b'],
    );
  });

  test('VM_NO_GUARD: no guard page, the next area starts right after the last page', () => {
    const { vm } = space();
    const a = ok(vm.vmalloc(8192, GFP_KERNEL, { caller: 'a', noGuard: true }));
    const b = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'b' }));
    assert.equal(a.size, 8192);
    assert.equal(b.addr, S + 8192n);
    assert.equal(vm.findArea(S + 4096n)?.inGuard, false);
  });

  test('vmalloc_user() (flags "user") adds VM_USERMAP', () => {
    const { vm } = space();
    const u = ok(vm.vmalloc(4096, GFP_KERNEL | __GFP_ZERO, { caller: 'u', flags: 'user' }));
    assert.equal(u.flags, VM_ALLOC | VM_USERMAP);
  });
});

describe('vmalloc: guard pages and address lookup', () => {
  test('the guard page between neighbours belongs to the lower area', () => {
    const { vm } = space();
    const a = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'a+0x1/0x2' }));
    ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'b+0x1/0x2' }));
    const inA = vm.findArea(S + 100n);
    assert.deepEqual([inA?.area.caller, inA?.offset, inA?.inGuard], ['a+0x1/0x2', 100, false]);
    const guard = vm.findArea(S + 0x1ff8n);
    assert.deepEqual([guard?.area.addr, guard?.offset, guard?.inGuard], [a.addr, 0x1ff8, true]);
    assert.equal(vm.describe(S + 0x1ff8n), 'guard page of area 0xffffc90000000000-0xffffc90000002000 (a+0x1/0x2)');
    const inB = vm.findArea(S + 0x2000n);
    assert.deepEqual([inB?.area.caller, inB?.offset, inB?.inGuard], ['b+0x1/0x2', 0, false]);
    assert.equal(vm.findArea(S + 0x4000n), undefined);
  });

  test('a stack overflow runs below the stack: into the guard page of the area beneath when adjacent', () => {
    const { vm } = space();
    ok(vm.vmalloc(12 * 1024, GFP_KERNEL, { caller: 'buf' })); // [0, 16K): 12K + guard
    const s = stack(vm); // at 16K exactly: adjacent
    assert.equal(s.addr, S + 0x4000n);
    assert.equal(vm.describe(s.addr - 8n), 'guard page of area 0xffffc90000000000-0xffffc90000004000 (buf)');
    assert.equal(
      vm.describe(s.addr + 100n),
      `offset 100 in area 0xffffc90000004000-0xffffc90000009000 (${STACK_CALLER})`,
    );
  });

  test('... or into an unmapped hole when the stack below is 12 KiB away', () => {
    const { vm } = space();
    stack(vm);
    const s2 = stack(vm);
    const hole = s2.addr - 8n;
    assert.equal(vm.findArea(hole), undefined);
    const n = vm.neighbours(hole);
    assert.deepEqual([n.below?.addr, n.above?.addr], [S, s2.addr]);
    assert.equal(
      vm.describe(hole),
      `unmapped hole above area 0xffffc90000000000-0xffffc90000005000 (${STACK_CALLER}) and below area ` +
        `0xffffc90000008000-0xffffc9000000d000 (${STACK_CALLER})`,
    );
    assert.equal(vm.describe(0xffff888000000000n), 'outside the vmalloc space');
  });
});

describe('vfree', () => {
  test('frees pages, clears PTEs and returns the hole, which the next fitting request reuses', () => {
    const { vm, host } = space();
    ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'a' }));
    const b = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'b' }));
    ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'c' }));
    const r = vm.vfree(b.addr);
    assert.ok(r && !isVmallocError(r));
    assert.equal(r.offset, 0);
    assert.ok(!host.allocated.has(b.pages[0]!));
    assert.ok(!host.ptes.has(b.addr));
    // An 8K request needs 12K: the 8K hole is too small.
    const big = ok(vm.vmalloc(8192, GFP_KERNEL, { caller: 'big' }));
    assert.equal(big.addr, S + 0x6000n);
    assert.equal(big.pages[0], b.pages[0]); // the frame went back to the (LIFO) fake page allocator
    // A 4K request fits the hole exactly.
    const d = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'd' }));
    assert.equal(d.addr, b.addr);
  });

  test('freed neighbours merge: two freed 8K areas make room for a 12K one', () => {
    const { vm } = space();
    const a = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'a' }));
    const b = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'b' }));
    ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'c' }));
    vm.vfree(a.addr);
    vm.vfree(b.addr);
    assert.equal(ok(vm.vmalloc(8192, GFP_KERNEL, { caller: 'd' })).addr, S);
  });

  test('vfree(NULL) does nothing', () => {
    const { vm } = space();
    ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'a' }));
    assert.equal(vm.vfree(0n), undefined);
    assert.equal(vm.areas().length, 1);
  });

  test('an address not page-aligned: "bad address" (remove_vm_area) then "nonexistent vm area" (vfree)', () => {
    const { vm, host } = space();
    const a = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'a' }));
    const e = err(vm.vfree(a.addr + 8n));
    assert.equal(e.code, 'KM5013');
    assert.deepEqual(
      e.log.map((l) => l.text),
      ['Trying to vfree() bad address (ffffc90000000008)', 'Trying to vfree() nonexistent vm area (ffffc90000000008)'],
    );
    assert.equal(vm.areas().length, 1);
    assert.equal(host.allocated.size, 1);
  });

  test('no area there, or freed twice: "Trying to vfree() nonexistent vm area (%p)", nothing changes', () => {
    const { vm, host } = space();
    const a = ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'a' }));
    ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'b' }));
    assert.ok(vm.vfree(a.addr));
    const e = err(vm.vfree(a.addr));
    assert.equal(e.code, 'KM5014');
    assert.deepEqual(
      e.log.map((l) => l.text),
      ['Trying to vfree() nonexistent vm area (ffffc90000000000)'],
    );
    assert.equal(err(vm.vfree(S + 0x100000n)).code, 'KM5014');
    assert.equal(vm.areas().length, 1);
    assert.equal(host.allocated.size, 1);
  });

  test('a page-aligned address inside an area (even its guard page) frees the whole area, as the kernel does', () => {
    const { vm, host } = space();
    const a = ok(vm.vmalloc(8192, GFP_KERNEL, { caller: 'a' }));
    const r = vm.vfree(a.addr + 0x2000n); // the guard page
    assert.ok(r && !isVmallocError(r));
    assert.equal(r.offset, 0x2000);
    assert.equal(vm.areas().length, 0);
    assert.equal(host.allocated.size, 0);
    assert.equal(host.ptes.size, 0);
  });
});

describe('vmalloc: failures roll back', () => {
  test('size 0 returns NULL (WARN_ON_ONCE), no warn_alloc line', () => {
    const { vm } = space();
    const e = err(vm.vmalloc(0, GFP_KERNEL, { caller: 'z' }));
    assert.equal(e.code, 'KM5001');
    assert.deepEqual(e.log, []);
  });

  test('more pages than totalram: "vmalloc error: size %lu, exceeds total pages"', () => {
    const host = new FakeHost();
    host.totalram = 16;
    const { vm } = space(host);
    const e = err(vm.vmalloc(17 * 4096, GFP_KERNEL, { caller: 'x' }));
    assert.equal(e.code, 'KM5003');
    assert.deepEqual(e.log, [{ text: 'vmalloc error: size 69632, exceeds total pages', gfp: GFP_KERNEL }]);
    ok(vm.vmalloc(16 * 4096, GFP_KERNEL, { caller: 'x' }));
  });

  test('page allocation failing midway: no page leaked, no area left, the size printed is what was obtained', () => {
    const host = new FakeHost();
    host.failAllocAt = 3;
    const { vm } = space(host);
    const e = err(vm.vmalloc(5 * 4096, GFP_KERNEL, { caller: 'x' }));
    assert.equal(e.code, 'KM5007');
    // area->nr_pages * PAGE_SIZE = 2 pages obtained before the third failed.
    assert.deepEqual(
      e.log.map((l) => l.text),
      ['vmalloc error: size 8192, failed to allocate pages'],
    );
    assert.equal(host.allocated.size, 0);
    assert.equal(host.ptes.size, 0);
    assert.deepEqual(vm.areas(), []);
    host.failAllocAt = undefined;
    assert.equal(ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'y' })).addr, S);
  });

  test('mapping failing (no page-table page): "failed to map pages", PTEs and pages undone', () => {
    const host = new FakeHost();
    host.failMapAt = 2;
    const { vm } = space(host);
    const e = err(vm.vmalloc(3 * 4096, GFP_KERNEL, { caller: 'x' }));
    assert.equal(e.code, 'KM5008');
    assert.deepEqual(
      e.log.map((l) => l.text),
      ['vmalloc error: size 12288, failed to map pages'],
    );
    assert.equal(host.allocated.size, 0);
    assert.equal(host.ptes.size, 0);
    assert.deepEqual(vm.areas(), []);
  });

  test('__GFP_NOWARN silences warn_alloc but the call still fails', () => {
    const host = new FakeHost();
    host.failAllocAt = 1;
    const { vm } = space(host);
    const e = err(vm.vmalloc(4096, GFP_KERNEL | __GFP_NOWARN, { caller: 'x' }));
    assert.equal(e.code, 'KM5007');
    assert.deepEqual(e.log, []);
  });

  test('address space exhausted: alloc_vmap_area\'s pr_warn, then "vm_struct allocation failed"', () => {
    const { vm, host } = space(new FakeHost(), S + 0x8000n);
    const e = err(vm.vmalloc(0x8000, GFP_KERNEL, { caller: 'x' })); // needs 32K + 4K guard
    assert.equal(e.code, 'KM5005');
    assert.deepEqual(e.log, [
      {
        text: 'vmalloc_node_range for size 36864 failed: Address range restricted to 0xffffc90000000000 - 0xffffc90000008000',
      },
      { text: 'vmalloc error: size 32768, vm_struct allocation failed', gfp: GFP_KERNEL },
    ]);
    assert.equal(host.allocCalls, 0);
    ok(vm.vmalloc(0x7000, GFP_KERNEL, { caller: 'fits' }));
  });

  test("more than 512 pages: the page array is vmalloc'ed too (same caller), and freed with the area", () => {
    const { vm, host } = space();
    const v = ok(vm.vmalloc(513 * 4096, GFP_KERNEL, { caller: 'big' }));
    // array_size = 513 * 8 = 4104 > PAGE_SIZE -> __vmalloc_node(4104): 8K + guard, reserved after the main area.
    assert.equal(v.addr, S);
    assert.equal(v.pagesArray, S + 514n * 4096n);
    const arr = vm.findArea(v.pagesArray!)!.area;
    assert.deepEqual([arr.size, arr.nrPages, arr.caller], [12288, 2, 'big']);
    assert.equal(host.allocated.size, 515);
    assert.equal(vm.nrVmallocPages, 515);
    vm.vfree(v.addr);
    assert.deepEqual(vm.areas(), []);
    assert.equal(host.allocated.size, 0);
    assert.equal(host.ptes.size, 0);
  });

  test("failure after the page array was vmalloc'ed: both areas and all pages are released", () => {
    const host = new FakeHost();
    host.failAllocAt = 2 + 100 + 1; // the array's 2 pages, then 100 of the 600
    const { vm } = space(host);
    const e = err(vm.vmalloc(600 * 4096, GFP_KERNEL, { caller: 'big' }));
    assert.deepEqual(
      e.log.map((l) => l.text),
      [`vmalloc error: size ${100 * 4096}, failed to allocate pages`],
    );
    assert.deepEqual(vm.areas(), []);
    assert.equal(host.allocated.size, 0);
    assert.equal(host.ptes.size, 0);
  });
});

describe('vmap and ioremap', () => {
  test('vmap maps the given frames; vfree leaves them to their owner unless VM_MAP_PUT_PAGES', () => {
    const { vm, host } = space();
    const m = ok(vm.vmap([7, 9], GFP_KERNEL, { caller: 'vmap_test' }));
    assert.deepEqual([m.size, m.nrPages, host.ptes.get(m.addr), host.ptes.get(m.addr + 4096n)], [12288, 0, 7, 9]);
    host.allocated.add(100).add(101);
    const p = ok(vm.vmap([100, 101], GFP_KERNEL, { caller: 'put', putPages: true }));
    assert.equal(p.nrPages, 2);
    vm.vfree(m.addr);
    vm.vfree(p.addr);
    assert.equal(host.ptes.size, 0);
    assert.equal(host.allocated.size, 0); // 100 and 101 were put
  });

  test('ioremap: page-aligned around phys, VM_IOREMAP alignment from the size, returns the offset address', () => {
    const { vm, host } = space();
    ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'a' })); // [0, 8K)
    const r = vm.ioremap(0xfed00010, 0x400, 'hpet_enable+0x2a/0x2b0');
    assert.ok(!isVmallocError(r));
    assert.deepEqual([r.area.addr - S, r.area.size, r.area.physAddr, r.va - S], [0x2000n, 8192, 0xfed00000, 0x2010n]);
    assert.equal(host.ptes.get(r.area.addr), 0xfed00);
    // 5 pages: get_count_order(20K) = 15, so a 32K-aligned area.
    const big = vm.ioremap(0xfe000000, 5 * 4096, 'big');
    assert.ok(!isVmallocError(big));
    assert.equal(big.area.addr, S + 0x8000n);
  });
});

describe('/proc/vmallocinfo', () => {
  test('hand-written text for stacks, a vpages vmalloc and its array, ioremap, vmap, vmalloc_user (1 CPU)', () => {
    const { vm } = space();
    stack(vm); // [0, 0x5000)
    stack(vm); // [0x8000, 0xd000)
    // 513 pages + guard = 0x202000 at 0xd000; its 4104-byte page array (0x3000) fits the hole [0x5000, 0x8000).
    ok(vm.vmalloc(513 * 4096, GFP_KERNEL, { caller: 'alloc_large_system_hash+0x160/0x280' }));
    assert.ok(!isVmallocError(vm.ioremap(0xfed00000, 0x400, 'hpet_enable+0x2a/0x2b0'))); // [0x20f000, 0x211000)
    ok(vm.vmap([7, 9], GFP_KERNEL, { caller: 'vmap_test+0x10/0x20' })); // [0x211000, 0x214000)
    ok(vm.vmalloc(4096, GFP_KERNEL | __GFP_ZERO, { caller: 'bpf_map_area_mmapable_alloc+0x2d/0x50', flags: 'user' }));
    const view = vmallocinfoView(vm, 1);
    assert.equal(
      formatVmallocinfo(view),
      '0xffffc90000000000-0xffffc90000005000   20480 alloc_thread_stack_node+0x4d/0x1a0 pages=4 vmalloc N0=4\n' +
        '0xffffc90000005000-0xffffc90000008000   12288 alloc_large_system_hash+0x160/0x280 pages=2 vmalloc N0=2\n' +
        '0xffffc90000008000-0xffffc9000000d000   20480 alloc_thread_stack_node+0x4d/0x1a0 pages=4 vmalloc N0=4\n' +
        '0xffffc9000000d000-0xffffc9000020f000 2105344 alloc_large_system_hash+0x160/0x280 pages=513 vmalloc vpages N0=513\n' +
        '0xffffc9000020f000-0xffffc90000211000    8192 hpet_enable+0x2a/0x2b0 phys=0x00000000fed00000 ioremap\n' +
        '0xffffc90000211000-0xffffc90000214000   12288 vmap_test+0x10/0x20 vmap\n' +
        '0xffffc90000214000-0xffffc90000216000    8192 bpf_map_area_mmapable_alloc+0x2d/0x50 pages=1 vmalloc user N0=1\n',
    );
    assert.equal(view.vmallocPages, 4 + 2 + 4 + 513 + 1);
    assert.doesNotThrow(() => JSON.stringify(view));
    // Without CONFIG_NUMA there are no N0= counts.
    assert.ok(!formatVmallocinfo(view, { numa: false }).includes(' N0='));
  });

  test("with 2 CPUs the busy areas sit in 2 vmap nodes of 16-page zones: node 0's list first", () => {
    const { vm } = space();
    ok(vm.vmalloc(60 * 1024, GFP_KERNEL, { caller: 'a' })); // [0, 64K): zone 0 -> node 0
    ok(vm.vmalloc(60 * 1024, GFP_KERNEL, { caller: 'b' })); // [64K, 128K): zone 1 -> node 1
    ok(vm.vmalloc(4096, GFP_KERNEL, { caller: 'c' })); // [128K, 136K): zone 2 -> node 0
    assert.equal(nrVmapNodes(2), 2);
    assert.equal(nrVmapNodes(1000), 128);
    const view = vmallocinfoView(vm, 2);
    assert.deepEqual(
      view.areas.map((a) => [a.caller, a.vmapNode]),
      [
        ['a', 0],
        ['b', 1],
        ['c', 0],
      ],
    );
    assert.deepEqual(
      formatVmallocinfo(view)
        .trimEnd()
        .split('\n')
        .map((l) => l.split(' ').filter(Boolean)[2]),
      ['a', 'c', 'b'],
    );
  });
});
