/*
 * Unit tests of engine/inspect/slabviews.ts: /sys/kernel/slab attributes (mm/slub.c show functions, 6.12),
 * slabtop -o (procps-ng src/slabtop.c, library/slabinfo.c), the layout of one slab and the object lookup.
 *
 * Every expectation is worked out by hand from the geometry (mm/slub.c calculate_sizes()/calculate_order()) on
 * a 256M, 2-CPU x86-64 machine:
 *   kmalloc-192: min_objects = 4 * (fls(2) + 1) = 12, get_order(12 * 192 = 2304) = 0, and the leftover
 *     4096 % 192 = 64 <= 4096 / 16, so order 0 with 4096 / 192 = 21 objects and 4096 - 21 * 192 = 64 bytes of
 *     padding; the free pointer at ALIGN_DOWN(192 / 2, 8) = 96; min_partial = max(5, ilog2(192) / 2 = 3) = 5.
 *   kmalloc-8: order 0, 4096 / 8 = 512 objects. kmalloc-128: order 0, 32 objects.
 * There are 13 kmalloc sizes (8 .. 8k) in 4 types (kmalloc-, kmalloc-rcl-, dma-kmalloc-, kmalloc-cg-; x86-64
 * has ZONE_DMA): 52 caches at boot.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { GFP_KERNEL } from '../../engine/mm/gfp';
import { KmemCache, SLAB_ACCOUNT, SLAB_NO_MERGE } from '../../engine/mm/slub';
import {
  createUniqueId,
  formatObjectLookup,
  formatSlabLayout,
  formatSlabtop,
  formatSysfsSlab,
  objectLookup,
  printfFixed,
  slabAttributes,
  slabLayoutAt,
  slabLayoutView,
  slabtopView,
  sysfsSlabAttribute,
  sysfsSlabEntries,
  sysfsSlabView,
} from '../../engine/inspect/slabviews';

const PAGE = 4096;

function boot(arch?: 'sv39'): Machine {
  const m = Machine.boot({ memoryBytes: 256 * 1024 * 1024, cpus: 2, ...(arch ? { arch } : {}) });
  assert.ok(m instanceof Machine);
  return m;
}

function kmalloc(m: Machine, size: number, line: number, cpu = 0): number {
  m.line = line;
  m.cpu = cpu;
  const phys = m.kmalloc(size, GFP_KERNEL);
  assert.ok(phys > 0, `kmalloc(${size}) failed`);
  return phys;
}

function kfree(m: Machine, phys: number, line: number, cpu = 0): void {
  m.line = line;
  m.cpu = cpu;
  assert.equal(m.kfree(phys), undefined);
}

function create(m: Machine, name: string, size: number, flags: number): KmemCache {
  const c = m.kmemCacheCreate(name, size, 0, flags);
  assert.ok('id' in c, JSON.stringify(c));
  return c;
}

test("sysfs attributes of kmalloc-192 with one cpu slab, in the show functions' exact format", () => {
  const m = boot();
  for (let i = 0; i < 3; i++) kmalloc(m, 192, 1);
  const attr = (a: string) => sysfsSlabAttribute(m, 'kmalloc-192', a);
  // "%u\n" / "%lu\n" / "%d\n" attributes.
  assert.equal(attr('slab_size'), '192\n');
  assert.equal(attr('object_size'), '192\n');
  assert.equal(attr('objs_per_slab'), '21\n');
  assert.equal(attr('order'), '0\n');
  assert.equal(attr('min_partial'), '5\n');
  // create_boot_cache(): a kmalloc cache is aligned to the largest power of two dividing its size (64 for 192).
  assert.equal(attr('align'), '64\n');
  assert.equal(attr('aliases'), '0\n');
  assert.equal(attr('hwcache_align'), '0\n');
  assert.equal(attr('reclaim_account'), '0\n');
  assert.equal(attr('destroy_by_rcu'), '0\n');
  assert.equal(attr('cache_dma'), '0\n');
  assert.equal(attr('usersize'), '192\n'); // create_kmalloc_cache(): usersize = size
  assert.equal(attr('remote_node_defrag_ratio'), '100\n');
  // set_cpu_partial(): s->size < 256 keeps 120 objects on the per-CPU partial list; none is there yet.
  assert.equal(attr('cpu_partial'), '120\n');
  assert.equal(attr('slabs_cpu_partial'), '0(0)\n');
  // Show functions that print nothing.
  assert.equal(attr('ctor'), '');
  assert.equal(attr('shrink'), '');
  assert.equal(attr('validate'), '');
  // show_slab_objects(): the total, then " N0=<n>" only when node 0's count is not zero.
  assert.equal(attr('slabs'), '1 N0=1\n');
  assert.equal(attr('cpu_slabs'), '1 N0=1\n');
  assert.equal(attr('total_objects'), '21 N0=21\n');
  assert.equal(attr('objects'), '21 N0=21\n'); // a cpu slab counts every object in use
  assert.equal(attr('partial'), '0\n');
  assert.equal(attr('objects_partial'), '0\n');
  // There is no "size" file (s->size is slab_size), and no such cache.
  assert.equal(attr('size'), undefined);
  assert.equal(sysfsSlabAttribute(m, 'kmalloc-200', 'order'), undefined);
});

test('a freed full slab goes to the per-CPU partial list; flushing the CPU moves it to the node list', () => {
  const m = boot();
  const objs: number[] = [];
  for (let i = 0; i < 22; i++) objs.push(kmalloc(m, 192, 1)); // slab A full, slab B is CPU 0's with 1 object used
  // A was full and is no cpu slab: __slab_free() hands it to put_cpu_partial(), CPU 0's partial list.
  kfree(m, objs[0]!, 2);
  const attr = (a: string) => sysfsSlabAttribute(m, 'kmalloc-192', a);
  assert.equal(attr('slabs'), '2 N0=2\n');
  assert.equal(attr('partial'), '0\n'); // the node list is empty
  assert.equal(attr('objects_partial'), '0\n');
  assert.equal(attr('total_objects'), '42 N0=42\n');
  assert.equal(attr('objects'), '42 N0=42\n'); // only the node list's free objects are subtracted
  // show_slab_objects(SO_CPU): 1 for CPU 0's slab plus the partial list head's slab->slabs.
  assert.equal(attr('cpu_slabs'), '2 N0=2\n');
  // slabs_cpu_partial_show(): objects approximated as (slabs * oo_objects) / 2 = 21 / 2 = 10.
  assert.equal(attr('slabs_cpu_partial'), '10(1) C0=10(1)\n');
  const layout = slabLayoutView(m, objs[0]! / PAGE)!;
  assert.deepEqual([layout.list, layout.problems], ['cpu partial', []]);
  assert.equal(layout.partialCpu, 0);
  assert.match(
    formatSlabLayout(layout),
    /^slab at pfn 0x[0-9a-f]+ of kmalloc-192: order 0 \(4096 bytes\), on CPU 0's per-CPU partial list\n/,
  );

  // flush_cpu_slab() (kmem_cache_shrink, CPU hotplug): the cpu slab B is deactivated and the partial list is
  // put back (__put_partials); both go to the node partial list.
  const cache = m.slub.caches.find((c) => c.name === 'kmalloc-192')!;
  m.slub.flushCpu(cache, 0);
  assert.equal(attr('partial'), '2 N0=2\n');
  assert.equal(attr('objects_partial'), '21 N0=21\n'); // 20 on A, 1 on B
  assert.equal(attr('objects'), '21 N0=21\n'); // 42 minus the 21 free on the node list
  assert.equal(attr('cpu_slabs'), '0\n');
  assert.equal(attr('slabs_cpu_partial'), '0(0)\n');
  assert.deepEqual(slabLayoutView(m, objs[0]! / PAGE)!.list, 'partial');
});

test('sysfs names: kmalloc caches under their names, mergeable caches under create_unique_id() with links', () => {
  const m = boot();
  // 100 bytes -> slot 104; no kmalloc cache takes it (SLAB_MERGE_SAME flags differ or the slot is too far off).
  const foo = create(m, 'foo', 100, 0);
  const bar = create(m, 'bar', 100, 0); // merges into foo
  assert.equal(bar, foo);
  const acct = create(m, 'acct', 100, SLAB_ACCOUNT);
  create(m, 'solo', 100, SLAB_NO_MERGE);
  assert.equal(createUniqueId(foo), ':0000104');
  assert.equal(createUniqueId(acct), ':A-0000104');
  const entries = sysfsSlabEntries(m);
  const find = (name: string) => entries.find((e) => e.name === name);
  assert.deepEqual(find(':0000104'), { name: ':0000104', type: 'dir', cache: 'foo' });
  assert.deepEqual(find('foo'), { name: 'foo', type: 'link', target: ':0000104', cache: 'foo' });
  assert.deepEqual(find('bar'), { name: 'bar', type: 'link', target: ':0000104', cache: 'foo' });
  assert.deepEqual(find('acct'), { name: 'acct', type: 'link', target: ':A-0000104', cache: 'acct' });
  assert.deepEqual(find('solo'), { name: 'solo', type: 'dir', cache: 'solo' });
  assert.deepEqual(find('kmalloc-rcl-64'), { name: 'kmalloc-rcl-64', type: 'dir', cache: 'kmalloc-rcl-64' });
  // 52 kmalloc directories, 3 more directories, 3 links.
  assert.equal(entries.length, 52 + 3 + 3);
  // Reading through a link or the directory gives the same cache: aliases = refcount - 1 = 1.
  assert.equal(sysfsSlabAttribute(m, 'bar', 'aliases'), '1\n');
  assert.equal(sysfsSlabAttribute(m, ':0000104', 'object_size'), '100\n');
  assert.equal(sysfsSlabAttribute(m, ':A-0000104', 'usersize'), '0\n');
  const view = sysfsSlabView(m, 'foo')!;
  assert.equal(view.dir, ':0000104');
  assert.deepEqual(view.links, ['bar', 'foo']);
  assert.equal(view.mergeable, true);
  assert.deepEqual(Object.keys(view.attributes), slabAttributes(m));
  assert.equal(view.attributes['slab_size'], '104\n');
});

test('cache_dma exists only with CONFIG_ZONE_DMA', () => {
  assert.ok(slabAttributes(boot()).includes('cache_dma'));
  const rv = boot('sv39');
  assert.ok(!slabAttributes(rv).includes('cache_dma'));
  assert.equal(sysfsSlabAttribute(rv, 'kmalloc-64', 'cache_dma'), undefined);
});

test('printf %.Nf rounding: exact ties go to even, as glibc does', () => {
  assert.equal(printfFixed(0.125, 2), '0.12'); // 128 / 1024: slabtop shows kmalloc-128 as 0.12K
  assert.equal(printfFixed(0.375, 2), '0.38');
  assert.equal(printfFixed(11.875, 2), '11.88');
  assert.equal(printfFixed(0.1875, 2), '0.19');
  assert.equal(printfFixed(2.5, 0), '2');
  assert.equal(printfFixed(100, 1), '100.0');
  assert.equal(printfFixed(0 / 0, 1), '-nan');
});

test('slabtop -o for a small known state', () => {
  const m = boot();
  const objs: number[] = [];
  for (let i = 0; i < 22; i++) objs.push(kmalloc(m, 192, 1));
  kfree(m, objs[0]!, 2);
  kmalloc(m, 8, 3);
  const v = slabtopView(m);
  // Objects: kmalloc-8 512 of 512 active (a cpu slab), kmalloc-192 42 of 42: the freed object's slab is on
  // CPU 0's partial list, and get_slabinfo() subtracts only the node partial list's free objects.
  assert.deepEqual([v.activeObjs, v.totalObjs, v.activeSlabs, v.totalSlabs], [554, 554, 3, 3]);
  assert.deepEqual([v.activeCaches, v.totalCaches], [2, 52]);
  // Sizes: 512 * 8 + 42 * 192 = 12160; average 12160 / 554 = 21 (integer).
  assert.deepEqual([v.activeSize, v.totalSize, v.minObjSize, v.avgObjSize, v.maxObjSize], [12160, 12160, 8, 21, 8192]);
  assert.deepEqual(
    v.rows.slice(0, 2).map((r) => [r.name, r.objs, r.active, r.use, r.slabs, r.cacheSize]),
    [
      ['kmalloc-8', 512, 512, 100, 1, 4096],
      ['kmalloc-192', 42, 42, 100, 2, 8192],
    ],
  );
  const lines = formatSlabtop(v).split('\n');
  assert.deepEqual(lines.slice(0, 9), [
    ' Active / Total Objects (% used)    : 554 / 554 (100.0%)',
    ' Active / Total Slabs (% used)      : 3 / 3 (100.0%)',
    ' Active / Total Caches (% used)     : 2 / 52 (3.8%)',
    ' Active / Total Size (% used)       : 11.88K / 11.88K (100.0%)',
    ' Minimum / Average / Maximum Object : 0.01K / 0.02K / 8.00K',
    '',
    // "%-78s": the 59-character heading and 19 spaces.
    '  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME' + ' '.repeat(19),
    '   512    512 100%    0.01K      1      512         4K kmalloc-8              ',
    '    42     42 100%    0.19K      2       21         8K kmalloc-192            ',
  ]);
  // The empty caches follow in /proc/slabinfo order; kmalloc-128's 128 bytes print as 0.12K (a tie, to even).
  const k128 = lines.find((l) => l.includes(' kmalloc-128 '))!;
  assert.equal(k128, '     0      0   0%    0.12K      0       32         0K kmalloc-128            ');
  assert.equal(lines.length, 7 + 52 + 1); // summary and heading, a row per cache, the final newline
});

test('slab layout after a known sequence: LIFO reuse of the freed object', () => {
  const m = boot();
  const a0 = kmalloc(m, 192, 10);
  const a1 = kmalloc(m, 192, 11);
  const a2 = kmalloc(m, 192, 12);
  assert.equal(a1, a0 + 192);
  kfree(m, a1, 13);
  const head = a0 / PAGE;
  let v = slabLayoutView(m, head)!;
  assert.equal(v.cache, 'kmalloc-192');
  assert.deepEqual([v.objects, v.size, v.freePointerOffset, v.padding, v.paddingPhys], [21, 192, 96, 64, a0 + 4032]);
  assert.deepEqual([v.list, v.cpus, v.frozen, v.inuse], ['cpu slab', [0], true, 21]);
  assert.deepEqual([v.allocated, v.onCpuFreelist, v.onSlabFreelist], [2, 19, 0]);
  assert.deepEqual(v.cpuFreelists, [{ cpu: 0, head: 1 }]); // the freed object heads CPU 0's freelist
  assert.equal(v.slabFreelist, null);
  assert.deepEqual(v.problems, []);
  const o = v.objectList;
  assert.equal(o[0]!.state, 'allocated');
  assert.equal(o[0]!.allocatedAt!.line, 10);
  assert.equal(o[2]!.allocatedAt!.line, 12);
  assert.equal(o[0]!.virt, m.formatVirt(a0));
  assert.deepEqual([o[1]!.state, o[1]!.cpu, o[1]!.freePointer!.index], ['cpu freelist', 0, 3]);
  assert.equal(o[1]!.freePointer!.virt, m.formatVirt(a0 + 3 * 192));
  // CONFIG_SLAB_FREELIST_HARDENED (mm/slub.c freelist_ptr_encode): stored = ptr ^ s->random ^ swab(ptr_addr),
  // ptr_addr = object + s->offset (96); a NULL at the end of the list is stored as random ^ swab(ptr_addr).
  const random = m.freePointers.randomOf(m.slub.caches.find((c) => c.name === 'kmalloc-192')!)!;
  const swab = (x: bigint): bigint => BigInt(`0x${x.toString(16).padStart(16, '0').match(/../g)!.reverse().join('')}`);
  const hex16 = (x: bigint): string => `0x${x.toString(16).padStart(16, '0')}`;
  assert.equal(o[1]!.freePointer!.stored, hex16(m.virt(a0 + 3 * 192) ^ random ^ swab(m.virt(a0 + 192 + 96))));
  assert.deepEqual(o[20]!.freePointer, {
    index: null,
    virt: '0x0000000000000000',
    stored: hex16(random ^ swab(m.virt(a0 + 20 * 192 + 96))),
  });
  // Any frame or address of the slab gives the same view.
  assert.deepEqual(slabLayoutAt(m, a2 + 5), v);
  assert.equal(slabLayoutView(m, head + 1), undefined); // the next frame is no slab page
  const text = formatSlabLayout(v);
  assert.match(text, /^slab at pfn 0x[0-9a-f]+ of kmalloc-192: order 0 \(4096 bytes\), cpu slab of CPU 0\n/);
  assert.match(text, /\n +1 +0x[0-9a-f]+ +0xffff888[0-9a-f]+ +free, CPU 0's freelist +-> 3 \(0x/);
  assert.match(text, /\n +0 +0x[0-9a-f]+ +0xffff888[0-9a-f]+ +allocated +line 10\n/);
  assert.match(text, /padding: 64 bytes at 0x[0-9a-f]+ \(4096 - 21 \* 192\)\n$/);

  // The next kmalloc takes the freed object back (LIFO), and the layout names its new line.
  const b = kmalloc(m, 150, 14);
  assert.equal(b, a1);
  v = slabLayoutView(m, head)!;
  assert.deepEqual([v.objectList[1]!.state, v.objectList[1]!.allocatedAt!.line], ['allocated', 14]);
  assert.equal(v.objectList[1]!.allocatedAt!.size, 150);
  assert.deepEqual(v.cpuFreelists, [{ cpu: 0, head: 3 }]);

  // A free from CPU 1 of CPU 0's slab goes to the slab freelist (the slab is frozen).
  kfree(m, a2, 15, 1);
  v = slabLayoutView(m, head)!;
  assert.deepEqual([v.objectList[2]!.state, v.slabFreelist, v.onSlabFreelist, v.inuse], ['slab freelist', 2, 1, 20]);
  assert.deepEqual(v.problems, []);
});

test('object lookup: index, offset, state, free pointer word and the allocating line', () => {
  const m = boot();
  const a0 = kmalloc(m, 192, 10);
  const a1 = kmalloc(m, 192, 11);
  kfree(m, a1, 12);
  const x = objectLookup(m, a0 + 100)!;
  assert.deepEqual(
    [x.cache, x.headPfn, x.index, x.offset, x.state, x.objectPhys, x.allocatedAt?.line],
    ['kmalloc-192', a0 / PAGE, 0, 100, 'allocated', a0, 10],
  );
  assert.equal(x.onFreePointer, undefined);
  // The freed object: on CPU 0's freelist; byte 96 is its free pointer, which points at object 2.
  const y = objectLookup(m, a1 + 96)!;
  assert.deepEqual([y.index, y.state, y.cpu, y.onFreePointer, y.freePointer?.index], [1, 'cpu freelist', 0, true, 2]);
  assert.equal(y.freedAt?.line, 12);
  assert.equal(y.allocatedAt, undefined);
  assert.match(
    formatObjectLookup(y),
    /96 bytes into object 1 .* of kmalloc-192.*\n +free, CPU 0's freelist; freed at line 12; on its free pointer\n$/,
  );
  // The 64 bytes after object 20 are padding.
  const z = objectLookup(m, a0 + 21 * 192 + 10)!;
  assert.equal(z.state, 'padding');
  assert.equal(z.index, undefined);
  // Not slab memory.
  assert.equal(objectLookup(m, 0), undefined);
});

test('a corrupted free-pointer array is reported, never followed forever', () => {
  const m = boot();
  const a0 = kmalloc(m, 192, 1);
  const head = a0 / PAGE;
  const fp = m.slub.slabs.get(head)!.fp;
  // CPU 0's freelist is 1 -> 2 -> ... -> 20 -> END. Make 6 point back to 4: a cycle 4 -> 5 -> 6 -> 4.
  fp[6] = 4;
  let v = slabLayoutView(m, head)!;
  assert.ok(
    v.problems.some((p) => /CPU 0's freelist: cycle: the free pointer of object 6 leads back to object 4/.test(p)),
    v.problems.join('\n'),
  );
  // Objects 7..20 fell off every list.
  assert.equal(v.objectList.filter((o) => o.state === 'unlisted').length, 14);
  assert.ok(v.problems.some((p) => p.startsWith('object 7 is not allocated (free pointer 8) but on no freelist')));
  // An index out of range.
  fp[6] = 7;
  fp[3] = 99;
  v = slabLayoutView(m, head)!;
  assert.ok(v.problems.some((p) => /free pointer of object 3 is 99, outside the slab's objects 0\.\.20/.test(p)));
  // A free pointer leading to an allocated object.
  fp[3] = 0;
  v = slabLayoutView(m, head)!;
  assert.ok(v.problems.some((p) => /leads to object 0, which is allocated/.test(p)));
  assert.match(formatSlabLayout(v), /\n {2}problems:\n {4}/);
  // The object lookup still answers, with the slab's problems.
  const o = objectLookup(m, a0 + 5 * 192)!;
  assert.equal(o.state, 'unlisted');
  assert.ok(o.problems.length > 0);
});

test('the sysfs directory as `grep . *` prints it', () => {
  const m = boot();
  kmalloc(m, 64, 1);
  const text = formatSysfsSlab(sysfsSlabView(m, 'kmalloc-64')!);
  // kmalloc-64: 64 objects per order-0 slab; the glob sorts the names; empty files (ctor, shrink, validate) print nothing.
  assert.equal(
    text,
    [
      'aliases:0',
      'align:64',
      'cache_dma:0',
      'cpu_partial:120',
      'cpu_slabs:1 N0=1',
      'destroy_by_rcu:0',
      'hwcache_align:0',
      'min_partial:5',
      'object_size:64',
      'objects:64 N0=64',
      'objects_partial:0',
      'objs_per_slab:64',
      'order:0',
      'partial:0',
      'poison:0',
      'reclaim_account:0',
      'red_zone:0',
      'remote_node_defrag_ratio:100',
      'sanity_checks:0',
      'skip_kfence:0',
      'slab_size:64',
      'slabs:1 N0=1',
      'slabs_cpu_partial:0(0)',
      'store_user:0',
      'total_objects:64 N0=64',
      'trace:0',
      'usersize:64',
      '',
    ].join('\n'),
  );
});
