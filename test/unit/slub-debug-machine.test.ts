/*
 * SLUB debugging on the machine (slub_checks.ts): slab_debug= at boot changes the geometry /proc/slabinfo
 * shows, debug caches take the kernel's debug paths (no cpu slab, one object at a time from the node list),
 * objects carry red zones, poison, tracks and orig_size in their bytes, and a double free in a cache with
 * SLAB_CONSISTENCY_CHECKS is reported as 6.12 reports it, then the kernel (and the scenario) goes on.
 *
 * Every report ends with dump_stack() as mm/slub.c of 6.12 prints it: print_trailer() ends with
 * `dump_stack();` (so object_err(), which is slab_bug(); print_trailer(); add_taint(TAINT_BAD_PAGE,
 * LOCKDEP_NOW_UNRELIABLE), and check_object()'s `if (!ret && !slab_in_kunit_test()) { print_trailer();
 * add_taint(); }`), slab_err() is slab_bug(); print_slab_info(); dump_stack(); add_taint(), and trace() ends
 * with dump_stack() too. The taint comes after the stack, so a first report's CPU line says "Not tainted", and
 * the FIX lines the callers print come after both.
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
import { SLAB_CONSISTENCY_CHECKS, SLAB_TRACE } from '../../engine/mm/slub';
import type { KmemCache } from '../../engine/mm/slub';

function boot(slabDebug?: string): Machine {
  const m = Machine.boot({ memoryBytes: 256 << 20, cpus: 2, ...(slabDebug !== undefined ? { slabDebug } : {}) });
  assert.ok(m instanceof Machine);
  return m;
}

/** The frames of every "Call Trace:" in a log, between " <TASK>" (or " <IRQ>") and its end, without offsets. */
function callTraces(log: string): string[][] {
  const traces: string[][] = [];
  for (const [, body] of log.matchAll(/\nCall Trace:\n <(?:TASK|IRQ)>\n((?: .*\n)*?) <\/(?:TASK|IRQ)>\n/g)) {
    traces.push(
      body!
        .trimEnd()
        .split('\n')
        .map((l) => l.trim().replace(/\+0x0\/0x0$/, '')),
    );
  }
  return traces;
}

/** print_hex_dump() rows of `count` bytes of one value from virt (16 a row, as print_section() prints them). */
function hexRows(prefix: string, virt: bigint, value: number, count: number, last = value): string[] {
  const rows: string[] = [];
  for (let i = 0; i < count; i += 16) {
    const n = Math.min(16, count - i);
    const bytes = Array.from({ length: n }, (_, k) => (i + k === count - 1 ? last : value));
    const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = bytes.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    rows.push(`${prefix}${(virt + BigInt(i)).toString(16).padStart(16, '0')}: ${hex.padEnd(49)}${text}`);
  }
  return rows;
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
  const object = m.virt(p);
  const virt = object.toString(16);
  // kmalloc-64 under FZPU (slot 256): left red zone 64, object 64, right red zone 8, free pointer, tracks,
  // orig_size, then 44 bytes of padding from object + 148. The ages are jiffies (machine events) since each
  // track was set: 7 events now, the allocation's track at 3, the free's at 6.
  const trailer = [
    'Allocated in line_0+0x0/0x1 [scenario] age=4 cpu=0 pid=1',
    ' __kmalloc_noprof+0x0/0x0',
    ' line_0+0x0/0x1 [scenario]',
    'Freed in line_0+0x0/0x1 [scenario] age=1 cpu=0 pid=1',
    ' kfree+0x0/0x0',
    ' line_0+0x0/0x1 [scenario]',
    `Slab 0xffffea0000060000 objects=16 used=0 fp=0x${virt} flags=0x4000000000000000(node=0|zone=1)`,
    `Object 0x${virt} @offset=64 fp=0x${(object + 256n).toString(16)}`,
    '',
    ...hexRows('Redzone  ', object - 64n, 0xbb, 64),
    ...hexRows('Object   ', object, 0x6b, 64, 0xa5),
    ...hexRows('Redzone  ', object + 64n, 0xbb, 8),
    ...hexRows('Padding  ', object + 148n, 0x5a, 44),
  ];
  // free_to_partial_list() (noinline) -> free_debug_processing() -> free_consistency_checks() (both inline)
  // -> `if (on_freelist(s, slab, object)) { object_err(s, slab, object, "Object already free"); ... }`, and
  // free_debug_processing()'s `slab_fix(s, "Object at 0x%p not freed", object)` last.
  assert.equal(
    report,
    [
      '=============================================================================',
      'BUG kmalloc-64 (Not tainted): Object already free',
      '-----------------------------------------------------------------------------',
      '',
      ...trailer,
      'CPU: 0 UID: 0 PID: 1 Comm: kmem Not tainted 6.12.0 #1',
      'Call Trace:',
      ' <TASK>',
      ' dump_stack_lvl+0x0/0x0',
      ' print_trailer+0x0/0x0',
      ' object_err+0x0/0x0',
      ' free_to_partial_list+0x0/0x0',
      ' __slab_free+0x0/0x0',
      ' kfree+0x0/0x0',
      ' line_0+0x0/0x1 [scenario]',
      ' </TASK>',
      'Disabling lock debugging due to kernel taint',
      `FIX kmalloc-64: Object at 0x${virt} not freed`,
      '',
    ].join('\n'),
  );
  const events = m.events.slice(0).filter((e) => e.kind === EventKind.SlubDebug);
  assert.deepEqual(
    events.map((e) => [e.addr, e.cache]),
    [[p, m.slub.cacheOf(p)!.id]],
  );
  // The next report's banner carries the taint: "Tainted: G    B" and 13 blanks; so does its stack, with
  // print_tainted_verbose()'s line, and lock debugging is already off.
  const again = m.log.length;
  m.kfree(p);
  const second = m.log.slice(again).join('');
  assert.match(second, /^=+\nBUG kmalloc-64 \(Tainted: G {4}B {13}\): Object already free\n/);
  assert.match(
    second,
    /\nCPU: 0 UID: 0 PID: 1 Comm: kmem Tainted: G {4}B {14}6\.12\.0 #1\nTainted: \[B\]=BAD_PAGE\nCall Trace:\n <TASK>\n/,
  );
  assert.match(second, new RegExp(` </TASK>\\nFIX kmalloc-64: Object at 0x${virt} not freed\\n$`));
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

test('every report ends with dump_stack(): the call trace of its 6.12 path, down to the scenario line', () => {
  const m = boot('FZPU');
  /** The call traces the log gains while fn runs, on scenario line `line`. */
  const traced = (line: number, fn: () => unknown): string[][] => {
    const from = m.log.length;
    m.line = line;
    fn();
    return callTraces(m.log.slice(from).join(''));
  };
  const scenario = (line: number) => `line_${line}+0x0/0x1 [scenario]`;
  const head = ['dump_stack_lvl', 'print_trailer', 'check_object'];
  // Functions declared inline have no frame: slab_alloc_node, __slab_alloc_node and __do_kmalloc_node on the
  // way in; slab_free, do_slab_free, free_debug_processing and free_consistency_checks on the way out.
  const free = ['free_to_partial_list', '__slab_free', 'kfree'];

  // kfree(): free_to_partial_list() -> free_debug_processing() -> free_consistency_checks() -> check_object().
  const p = m.kmalloc(50, GFP_KERNEL);
  m.storeMemory(p + 50, new Uint8Array([0x41]));
  assert.deepEqual(
    traced(2, () => m.kfree(p)),
    [[...head, ...free, scenario(2)]],
  );

  // An allocation from the node list: ___slab_alloc() -> get_partial() -> get_partial_node() ->
  // alloc_single_from_partial() -> alloc_debug_processing() -> alloc_consistency_checks() -> check_object().
  const q = m.kmalloc(128, GFP_KERNEL);
  m.kfree(q);
  m.storeMemory(q + 16, new Uint8Array(8));
  const alloc = [
    ...'alloc_debug_processing alloc_single_from_partial get_partial_node get_partial'.split(' '),
    ...'___slab_alloc __slab_alloc __kmalloc_noprof'.split(' '),
  ];
  assert.deepEqual(
    traced(5, () => m.kmalloc(128, GFP_KERNEL)),
    [[...head, ...alloc, scenario(5)]],
  );

  // In an interrupt handler the trace is on the IRQ stack.
  const r = m.kmalloc(256, GFP_KERNEL);
  m.kfree(r);
  m.context.irqEnter();
  const from = m.log.length;
  m.line = 8;
  m.kfree(r);
  m.context.irqExit();
  assert.match(m.log.slice(from).join(''), /\nCall Trace:\n <IRQ>\n dump_stack_lvl\+0x0\/0x0\n[^]* <\/IRQ>\n/);

  // free_slab() checks every object of a slab it frees (SLAB_CONSISTENCY_CHECKS): after the free that emptied it
  // with min_partial slabs already on the node list, at kmem_cache_shrink() and at kmem_cache_destroy().
  const create = (name: string, size: number) =>
    m.kmemCacheCreate(name, size, 0, SLAB_CONSISTENCY_CHECKS | SLAB_POISON) as KmemCache;
  const big = create('frames_free', 4000);
  const { objects, minPartial } = big.geometry;
  const objs = Array.from({ length: (minPartial + 1) * objects }, () => m.kmemCacheAlloc(big, GFP_KERNEL));
  for (let i = 0; i < minPartial; i++) m.kfree(objs[i * objects]!); // five slabs on the node list
  const last = objs.slice(minPartial * objects);
  for (const o of last.slice(1)) m.kfree(o);
  m.storeMemory(last[1]!, new Uint8Array([0x41])); // into a free object's poison
  assert.deepEqual(
    traced(10, () => m.kfree(last[0]!)),
    [[...head, 'free_slab', ...free, scenario(10)]],
  );
  const corruptFreed = (name: string): KmemCache => {
    const c = create(name, 64);
    const o = m.kmemCacheAlloc(c, GFP_KERNEL);
    m.line++;
    m.kfree(o);
    m.storeMemory(o, new Uint8Array([0x41]));
    return c;
  };
  const shrunk = corruptFreed('frames_shrink');
  const shrink = ['free_slab', '__kmem_cache_do_shrink', '__kmem_cache_shrink', 'kmem_cache_shrink'];
  assert.deepEqual(
    traced(20, () => m.kmemCacheShrink(shrunk)),
    [[...head, ...shrink, scenario(20)]],
  );
  const destroyed = corruptFreed('frames_destroy');
  const shutdown = ['free_slab', 'discard_slab', 'free_partial', '__kmem_cache_shutdown', 'kmem_cache_destroy'];
  assert.deepEqual(
    traced(30, () => m.kmemCacheDestroy(destroyed)),
    [[...head, ...shutdown, scenario(30)]],
  );

  // SLAB_TRACE: trace() from alloc_debug_processing() (a new slab's first object, then one from the node list)
  // and from free_debug_processing(), each with its stack and no taint of its own.
  const t = m.kmemCacheCreate('frames_trace', 64, 0, SLAB_TRACE) as KmemCache;
  const newSlab = ['alloc_debug_processing', 'alloc_single_from_new_slab', '___slab_alloc', '__slab_alloc'];
  let a = 0;
  assert.deepEqual(
    traced(40, () => (a = m.kmemCacheAlloc(t, GFP_KERNEL))),
    [['dump_stack_lvl', 'trace', ...newSlab, 'kmem_cache_alloc_noprof', scenario(40)]],
  );
  assert.deepEqual(
    traced(41, () => m.kmemCacheAlloc(t, GFP_KERNEL)),
    [['dump_stack_lvl', 'trace', ...alloc.slice(0, -1), 'kmem_cache_alloc_noprof', scenario(41)]],
  );
  assert.deepEqual(
    traced(42, () => m.kfree(a)),
    [['dump_stack_lvl', 'trace', ...free, scenario(42)]],
  );
});

test("kmem_cache_free is the API of its tracks and of its reports' call traces, not kfree", () => {
  // mm/slub.c (6.12): kmem_cache_free() -> slab_free() stores the free track with the caller's stack, which
  // holds kmem_cache_free; a second free reaches free_to_partial_list() -> free_debug_processing() ->
  // on_freelist() -> object_err() -> print_trailer() -> dump_stack().
  const source = [
    'machine { slab_debug "FZPU,dentry" }',
    'let c = kmem_cache_create("dentry", 192, 8, SLAB_RECLAIM_ACCOUNT)',
    'let d = kmem_cache_alloc(c, GFP_KERNEL)',
    'kmem_cache_free(c, d)',
    'expect slub_debug {',
    '  kmem_cache_free(c, d)',
    '}',
  ].join('\n');
  const { diagnostics, scenario } = loadScenario(source, 't.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e6 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const log = scenario!.machine.log.join('');
  assert.match(log, /\nFreed in line_4\+0x0\/0x1 \[scenario\] age=\d+ cpu=0 pid=1\n kmem_cache_free\+0x0\/0x0\n/);
  assert.deepEqual(callTraces(log), [
    [
      'dump_stack_lvl',
      'print_trailer',
      'object_err',
      'free_to_partial_list',
      '__slab_free',
      'kmem_cache_free',
      'line_6+0x0/0x1 [scenario]',
    ],
  ]);
});
