/*
 * SLUB debugging on the machine (slub_checks.ts): slab_debug= at boot changes the geometry /proc/slabinfo
 * shows, debug caches take the kernel's debug paths (no cpu slab, one object at a time from the node list),
 * objects carry red zones, poison, tracks and orig_size in their bytes, and a double free in a cache with
 * SLAB_CONSISTENCY_CHECKS is reported as 6.12 reports it, then the kernel (and the scenario) goes on.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { GFP_KERNEL } from '../../engine/mm/gfp';
import { SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER } from '../../engine/mm/slub';
import { procFileText } from '../../engine/inspect/procfs';
import { formatSlabLayout, slabLayoutAt, sysfsSlabAttribute } from '../../engine/inspect/slabviews';
import { loadScenario } from '../../engine/scenario';
import { diagnose } from '../../engine/lang/service';
import { EventKind } from '../../engine/trace/events';

function boot(slabDebug?: string): Machine {
  const m = Machine.boot({ memoryBytes: 256 << 20, cpus: 2, ...(slabDebug !== undefined ? { slabDebug } : {}) });
  assert.ok(m instanceof Machine);
  return m;
}

/** slabinfo's <objsize> <objperslab> <pagesperslab> of a cache. */
function geometry(m: Machine, name: string): string {
  const line = procFileText(m, 'slabinfo')
    .split('\n')
    .find((l) => l.startsWith(`${name} `))!;
  return line.trim().split(/\s+/).slice(3, 6).join(' ');
}

test('slab_debug=FZPU: the slab geometry calculate_sizes() gives debug caches (mm/slub.c, 6.12)', () => {
  const m = boot('FZPU');
  // kmalloc-8: object 8, red zone word (8 == object_size) -> inuse 16; the free pointer goes after it (P) -> 24;
  // two struct tracks (64) and orig_size (4, kmalloc + U) -> 92; Z adds a word -> 100 and red_left_pad
  // ALIGN(8, 8) = 8 -> 108; ALIGN(108, 8) = 112; 4096 / 112 = 36. This is the 112-byte, 36-object slab of a
  // slub_debug=FUZ kmalloc-8 report on lkml (Aug 2024).
  assert.equal(geometry(m, 'kmalloc-8'), '112 36 1');
  // kmalloc-64 (aligned to 64 as create_boot_cache() aligns kmalloc caches): 72, 80, 148, 156, red_left_pad
  // ALIGN(8, 64) = 64 -> 220 -> 256; 16 objects.
  assert.equal(geometry(m, 'kmalloc-64'), '256 16 1');
  // kmalloc-96 (align 32): 104, 112, 180, 188, + 32 = 220 -> 224; 18 per page.
  assert.equal(geometry(m, 'kmalloc-96'), '224 18 1');
  // kmalloc-8k (align 8192): 8200, 8208, 8276, 8284, + 8192 = 16476 -> 24576; calculate_order(): one object
  // in an order-3 slab (32768 - 24576 = 8192 left over is a quarter, fraction 4).
  assert.equal(geometry(m, 'kmalloc-8k'), '24576 1 8');
  // Without slab_debug the same caches are 8/512, 64/64, 96/42, 8192/4 (order 3).
  const plain = boot();
  assert.deepEqual(
    ['kmalloc-8', 'kmalloc-64', 'kmalloc-96', 'kmalloc-8k'].map((n) => geometry(plain, n)),
    ['8 512 1', '64 64 1', '96 42 1', '8192 4 8'],
  );
  // A cache list limits the flags to the caches named: FZ on kmalloc-64 only (free pointer mid-object, no
  // tracks: 72 + 8 + 64 = 144 -> 192, 21 objects).
  const one = boot('FZ,kmalloc-64');
  assert.deepEqual([geometry(one, 'kmalloc-64'), geometry(one, 'kmalloc-128')], ['192 21 1', '128 32 1']);
  assert.equal(sysfsSlabAttribute(one, 'kmalloc-64', 'red_zone'), '1\n');
  assert.equal(sysfsSlabAttribute(one, 'kmalloc-64', 'poison'), '0\n');
  assert.equal(sysfsSlabAttribute(one, 'kmalloc-64', 'sanity_checks'), '1\n');
  assert.equal(sysfsSlabAttribute(one, 'kmalloc-64', 'cpu_partial'), '0\n'); // no per-CPU partial lists
});

test('a kmalloc(50) from kmalloc-64 under FZPU: red zones, poison up to orig_size, kmalloc red zone, track', () => {
  const m = boot('FZPU');
  const p = m.kmalloc(50, GFP_KERNEL);
  const bytes = m.readMemory(p - 64, 256);
  const hex = (from: number, to: number) => Buffer.from(bytes.subarray(from + 64, to + 64)).toString('hex');
  assert.equal(hex(-64, 0), 'cc'.repeat(64), 'left red zone, active');
  assert.equal(hex(0, 50), '6b'.repeat(49) + 'a5', 'poison of the 50 bytes asked (orig_size)');
  assert.equal(hex(50, 72), 'cc'.repeat(22), 'kmalloc red zone 50..64 and the right red zone 64..72');
  // The alloc track at info_end (72 + 8 = 80): the caller's fake address, stack handle 1, cpu 0, pid 1.
  assert.equal(hex(80, 88), '00000081ffffffff');
  assert.equal(hex(144, 148), '32000000', 'orig_size = 50');
  assert.equal(hex(148, 192), '5a'.repeat(44), 'object padding POISON_INUSE');
  // The slab layout names each area of the slot, offsets from the slot's start.
  assert.match(
    formatSlabLayout(slabLayoutAt(m, p)!),
    /\n {2}slot: left red zone 0\.\.63, object 64\.\.127, right red zone 128\.\.135, free pointer 136\.\.143, alloc track 144\.\.175, free track 176\.\.207, orig_size 208\.\.211, padding 212\.\.255\n/,
  );
  // The CPU has no slab: debug caches allocate from the node list (alloc_single_from_new_slab).
  assert.equal(sysfsSlabAttribute(m, 'kmalloc-64', 'cpu_slabs'), '0\n');
  assert.equal(sysfsSlabAttribute(m, 'kmalloc-64', 'partial'), '1 N0=1\n');
  // Freed: every byte of the object is POISON_FREE again, the red zones inactive.
  assert.equal(m.kfree(p), undefined);
  const after = m.readMemory(p - 64, 144);
  assert.equal(Buffer.from(after.subarray(0, 64)).toString('hex'), 'bb'.repeat(64));
  assert.equal(Buffer.from(after.subarray(64, 128)).toString('hex'), '6b'.repeat(63) + 'a5');
  assert.equal(m.slubDebug.reports, 0);
});

test('a double free with SLAB_CONSISTENCY_CHECKS: "Object already free", not freed, the kernel goes on', () => {
  const m = boot('FZPU');
  const p = m.kmalloc(64, GFP_KERNEL);
  assert.equal(m.kfree(p), undefined);
  const logged = m.log.length;
  assert.equal(m.kfree(p), undefined, 'no runtime error: the report is the kernel reaction');
  const report = m.log.slice(logged).join('');
  const virt = m.virt(p).toString(16);
  assert.match(
    report,
    new RegExp(
      '^=+\\nBUG kmalloc-64 \\(Not tainted\\): Object already free\\n-+\\n\\n' +
        'Allocated in line_0\\+0x0/0x1 \\[scenario\\] age=\\d+ cpu=0 pid=1\\n __kmalloc_noprof\\+0x0/0x0\\n',
    ),
  );
  assert.match(report, new RegExp(`\\nObject 0x${virt} @offset=64 fp=0x[0-9a-f]{16}\\n\\n`));
  assert.match(report, /\nRedzone {2}[0-9a-f]{16}: bb bb bb/);
  assert.match(report, /\nDisabling lock debugging due to kernel taint\n/);
  assert.match(report, new RegExp(`\\nFIX kmalloc-64: Object at 0x${virt} not freed\\n$`));
  const events = m.events.slice(0).filter((e) => e.kind === EventKind.SlubDebug);
  assert.deepEqual(
    events.map((e) => [e.addr, e.cache]),
    [[p, m.slub.cacheOf(p)!.id]],
  );
  // The next report's banner carries the taint: "Tainted: G    B" and 14 blanks.
  m.kfree(p);
  assert.match(m.log.join(''), /BUG kmalloc-64 \(Tainted: G {4}B {13}\): Object already free/);
  // Without F a double free is still the emulator's KM4002.
  const noF = boot('ZPU');
  const q = noF.kmalloc(64, GFP_KERNEL);
  noF.kfree(q);
  assert.equal(noF.kfree(q)?.code, 'KM4002');
});

test('debug caches fill slabs one object at a time and keep full slabs off the partial list', () => {
  const m = boot('F,kmalloc-1k');
  const objs = Array.from({ length: 17 }, () => m.kmalloc(1000, GFP_KERNEL));
  // F alone changes no layout: 16 per order-3 slab; the first slab is full, the second partial.
  assert.equal(sysfsSlabAttribute(m, 'kmalloc-1k', 'slabs'), '2 N0=2\n');
  assert.equal(sysfsSlabAttribute(m, 'kmalloc-1k', 'partial'), '1 N0=1\n');
  assert.equal(sysfsSlabAttribute(m, 'kmalloc-1k', 'objects'), '17 N0=17\n');
  // A free from the full slab puts it on the node list's tail (free_to_partial_list).
  m.kfree(objs[0]!);
  assert.equal(sysfsSlabAttribute(m, 'kmalloc-1k', 'partial'), '2 N0=2\n');
  for (const o of objs.slice(1)) assert.equal(m.kfree(o), undefined);
  assert.equal(m.slubDebug.reports, 0);
});

test('from a scenario: the machine block, debug flags of kmem_cache_create, and their errors', () => {
  const source = [
    'machine { slab_debug "U,skb*" }',
    'let skb = kmem_cache_create("skbuff_head", 232, 0, SLAB_HWCACHE_ALIGN)',
    'let own = kmem_cache_create("mine", 100, 0, SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER)',
    'let a = kmem_cache_alloc(skb, GFP_KERNEL)',
    'let b = kmem_cache_alloc(own, GFP_KERNEL)',
    'kmem_cache_free(own, b)',
    '',
  ].join('\n');
  const { diagnostics, scenario } = loadScenario(source, 't.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e6 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const m = scenario!.machine;
  const find = (name: string) => m.slub.caches.find((c) => c.name === name)!;
  assert.equal(find('skbuff_head').flags & SLAB_STORE_USER, SLAB_STORE_USER, 'skb* matches skbuff_head');
  assert.equal(find('mine').flags & (SLAB_RED_ZONE | SLAB_POISON), SLAB_RED_ZONE | SLAB_POISON);
  // mine: 100 -> 104 (words; 104 != 100 so no extra red zone word), free pointer after it (P) 112, tracks 176,
  // Z word 184, red_left_pad 8 -> 192; ALIGN(192, 8) = 192.
  assert.equal(find('mine').geometry.size, 192);
  const codes = (src: string) => diagnose(src, 'm.kmem').map((d) => `${d.code} ${d.range.start.character}`);
  assert.deepEqual(codes('machine { slab_debug 5 }'), ['KM2008 21']);
  assert.deepEqual(codes('machine { slab_debug "FQ" }'), ['KM2008 23']);
  assert.match(diagnose('machine { slab_debug "FQ" }', 'm.kmem')[0]!.message, /option 'Q' unknown/);
});
