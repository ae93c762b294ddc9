/*
 * The debug adapter over its real protocol: dist/adapter.js is spawned as VS Code spawns it and driven with
 * DebugClient from @vscode/debugadapter-testsupport. Every test waits for the event that means "ready";
 * none sleeps. Build first (`node scripts/build.mjs`); npm test does.
 */

import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';

const ROOT = resolve(__dirname, '..', '..');
const ADAPTER = join(ROOT, 'dist', 'adapter.js');
const EXAMPLE = join(ROOT, 'examples', 'slab-growth.kmem');
const exampleLines = readFileSync(EXAMPLE, 'utf8').split('\n');
/** 1-based line of the first line of the example that contains text. */
const lineOf = (text: string) => exampleLines.findIndex((l) => l.includes(text)) + 1;

const scratch = mkdtempSync(join(tmpdir(), 'kmem-dap-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
function scenario(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

let dc: DebugClient;
beforeEach(async () => {
  dc = new DebugClient(process.execPath, ADAPTER, 'kmem');
  dc.defaultTimeout = 10_000;
  await dc.start();
});
afterEach(async () => {
  await dc.stop();
});

/** initialize → launch → breakpoints → configurationDone, as VS Code orders them. */
async function launch(
  program: string,
  opts: { stopOnEntry?: boolean; lines?: number[]; functions?: string[]; extra?: Record<string, unknown> } = {},
): Promise<{ lines: DebugProtocol.Breakpoint[]; functions: DebugProtocol.Breakpoint[] }> {
  // The adapter sends `initialized` right after its initialize response: listen before asking.
  const initialized = dc.waitForEvent('initialized');
  await dc.initializeRequest({ adapterID: 'kmem', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const launched = dc.launchRequest({
    program,
    stopOnEntry: opts.stopOnEntry ?? false,
    ...opts.extra,
  } as DebugProtocol.LaunchRequestArguments);
  await initialized;
  const lines = await dc.setBreakpointsRequest({
    source: { path: program },
    breakpoints: (opts.lines ?? []).map((line) => ({ line })),
  });
  const functions = await dc.setFunctionBreakpointsRequest({
    breakpoints: (opts.functions ?? []).map((name) => ({ name })),
  });
  await dc.configurationDoneRequest();
  await launched;
  return { lines: lines.body.breakpoints, functions: functions.body.breakpoints };
}

async function locals(frameId?: number): Promise<Map<string, DebugProtocol.Variable>> {
  const trace = await dc.stackTraceRequest({ threadId: 1 });
  const frame = frameId ?? trace.body.stackFrames.find((f) => f.source)!.id;
  const scopes = await dc.scopesRequest({ frameId: frame });
  const scope = scopes.body.scopes.find((s) => s.name === 'Locals')!;
  const vars = await dc.variablesRequest({ variablesReference: scope.variablesReference });
  return new Map(vars.body.variables.map((v) => [v.name, v]));
}

/** The innermost scenario frame is at this 1-based line (the stop itself was awaited by the caller). */
async function assertLocation(line: number): Promise<void> {
  const trace = await dc.stackTraceRequest({ threadId: 1 });
  const frame = trace.body.stackFrames.find((f) => f.source)!;
  assert.equal(frame.line, line);
  assert.ok(frame.source!.path!.endsWith('.kmem'));
}

describe('kmem debug adapter over DAP', () => {
  test('stopOnEntry stops at the first statement', async () => {
    const stopped = dc.waitForEvent('stopped');
    await launch(EXAMPLE, { stopOnEntry: true });
    const event = (await stopped) as DebugProtocol.StoppedEvent;
    assert.equal(event.body.reason, 'entry');
    await assertLocation(lineOf('let first'));
    const threads = await dc.threadsRequest();
    assert.equal(threads.body.threads.length, 1);
  });

  test("a line breakpoint stops at its line with kmalloc'd objects in the variables", async () => {
    const line = lineOf('kfree(first)');
    const stopped = dc.waitForEvent('stopped');
    const { lines } = await launch(EXAMPLE, { lines: [line] });
    assert.deepEqual(
      lines.map((b) => [b.verified, b.line]),
      [[true, line]],
    );
    assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'breakpoint');
    await assertLocation(line);
    const vars = await locals();
    assert.deepEqual([...vars.keys()], ['first', 'second']);
    const first = vars.get('first')!;
    assert.match(first.value, /^0xffff8880[0-9a-f]{8}$/);
    assert.ok(first.variablesReference > 0, 'a pointer expands into its object');
    const detail = await dc.variablesRequest({ variablesReference: first.variablesReference });
    const fields = new Map(detail.body.variables.map((v) => [v.name, v.value]));
    assert.equal(fields.get('cache'), 'kmalloc-192');
    assert.equal(fields.get('state'), 'slab object');
    assert.equal(fields.get('object size'), '192 bytes');
    // second was handed out right after first, from the same per-CPU freelist: 192 bytes further.
    assert.equal(BigInt(vars.get('second')!.value) - BigInt(first.value), 192n);
  });

  test('a breakpoint on the very first statement stops there when launched without stopOnEntry', async () => {
    const stopped = dc.waitForEvent('stopped');
    await launch(EXAMPLE, { lines: [lineOf('let first')] });
    assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'breakpoint');
    await assertLocation(lineOf('let first'));
    assert.equal((await locals()).size, 0, 'nothing has run yet');
  });

  test('a breakpoint on a comment or blank line moves to the next statement', async () => {
    const blank = lineOf('let again') + 1; // the blank line after it
    const { lines } = await launch(EXAMPLE, { lines: [1, blank] });
    assert.equal(lines[0]!.verified, true);
    assert.equal(lines[0]!.line, lineOf('let first'));
    assert.equal(lines[1]!.line, lineOf('repeat 50'));
  });

  test('next and stepIn move one statement; loops come back to their header', async () => {
    const stopped = dc.waitForEvent('stopped');
    await launch(EXAMPLE, { stopOnEntry: true });
    await stopped;
    const step = async (how: 'next' | 'stepIn', expected: string) => {
      const s = dc.waitForEvent('stopped');
      await (how === 'next' ? dc.nextRequest({ threadId: 1 }) : dc.stepInRequest({ threadId: 1 }));
      assert.equal(((await s) as DebugProtocol.StoppedEvent).body.reason, 'step');
      await assertLocation(lineOf(expected));
    };
    await step('next', 'let second');
    await step('stepIn', 'kfree(first)');
    await step('next', 'let again');
    await step('next', 'repeat 50');
    await step('next', 'let obj');
    await step('next', 'repeat 50');
    const vars = await locals();
    // LIFO: `again` took the slot `first` gave back.
    assert.equal(vars.get('again')!.value, vars.get('first')!.value);
  });

  test('procedures: a frame per call with its own variables; step over, in and out of calls', async () => {
    const program = scenario(
      'procs.kmem',
      [
        'let total = 0', // 1
        'proc alloc_buf(len) {', // 2
        '  let buf = kmalloc(len, GFP_KERNEL)', // 3
        '  total = total + len', // 4
        '  return buf', // 5
        '}', // 6
        'let a = alloc_buf(100)', // 7
        'let b = alloc_buf(200)', // 8
        'kfree(a)', // 9
        '',
      ].join('\n'),
    );
    const stopped = dc.waitForEvent('stopped');
    await launch(program, { lines: [7] });
    await stopped;
    const step = async (how: 'next' | 'stepIn' | 'stepOut', line: number, depth: number) => {
      const s = dc.waitForEvent('stopped');
      if (how === 'next') await dc.nextRequest({ threadId: 1 });
      else if (how === 'stepIn') await dc.stepInRequest({ threadId: 1 });
      else await dc.stepOutRequest({ threadId: 1 });
      assert.equal(((await s) as DebugProtocol.StoppedEvent).body.reason, 'step');
      const trace = await dc.stackTraceRequest({ threadId: 1 });
      const frames = trace.body.stackFrames.filter((f) => f.source);
      assert.deepEqual([frames[0]!.line, frames.length - 1], [line, depth], `${how} to ${line}`);
      return frames;
    };
    await step('next', 8, 0); // over the first call
    const frames = await step('stepIn', 3, 1); // into the second
    assert.deepEqual(
      frames.map((f) => [f.name, f.line]),
      [
        ['alloc_buf', 3],
        ['procs', 8],
      ],
    );
    assert.deepEqual([...(await locals(frames[0]!.id)).keys()], ['len']);
    assert.equal((await locals(frames[0]!.id)).get('len')!.value, '200');
    assert.deepEqual([...(await locals(frames[1]!.id)).keys()], ['total', 'a']);
    const inCaller = await dc.evaluateRequest({ expression: 'a', frameId: frames[1]!.id, context: 'watch' });
    assert.match(inCaller.body.result, /^0xffff8880/);
    await step('next', 4, 1);
    await step('stepOut', 9, 0);
    assert.equal((await locals()).get('total')!.value, '300');
  });

  test('a function breakpoint on a cache stops when that cache allocates', async () => {
    const stopped = dc.waitForEvent('stopped');
    const { functions } = await launch(EXAMPLE, { functions: ['kmalloc-1k', 'no such cache!'] });
    assert.equal(functions[0]!.verified, true);
    assert.equal(functions[1]!.verified, false);
    assert.match(functions[1]!.message ?? '', /Unknown allocation event/);
    const event = (await stopped) as DebugProtocol.StoppedEvent;
    assert.equal(event.body.reason, 'function breakpoint');
    assert.deepEqual(event.body.hitBreakpointIds, [functions[0]!.id]);
    assert.match(event.body.description ?? '', /^kmalloc-1k allocated 0xffff888/);
    const trace = await dc.stackTraceRequest({ threadId: 1 });
    assert.match(trace.body.stackFrames[0]!.name, /^kmalloc #\d+: kmalloc-1k allocated/);
    // trace_kmalloc() fires in __do_kmalloc_node(), called by __kmalloc_noprof(): SLUB's frames, then the line.
    assert.deepEqual(
      trace.body.stackFrames.slice(1, 3).map((f) => [f.name, f.presentationHint, f.source]),
      [
        ['__do_kmalloc_node  (mm/slab_common.c)', 'subtle', undefined],
        ['__kmalloc_noprof  (mm/slab_common.c)', 'subtle', undefined],
      ],
    );
    assert.equal(trace.body.stackFrames[3]!.line, lineOf('let buf'));
    const scopes = await dc.scopesRequest({ frameId: trace.body.stackFrames[3]!.id });
    assert.equal(scopes.body.scopes[0]!.name, 'Event');
    const ev = await dc.variablesRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference });
    const fields = new Map(ev.body.variables.map((v) => [v.name, v.value]));
    assert.equal(fields.get('cache'), 'kmalloc-1k');
    assert.equal(fields.get('requested'), '1000 bytes');
    assert.equal(fields.get('given'), '1024 bytes');
    // Continue: the loop allocates 8 times, so the breakpoint hits again in the same loop.
    const again = dc.waitForEvent('stopped');
    await dc.continueRequest({ threadId: 1 });
    assert.equal(((await again) as DebugProtocol.StoppedEvent).body.reason, 'function breakpoint');
  });

  test('a function breakpoint on a cache the scenario creates later stops when it allocates', async () => {
    const program = scenario(
      'own-cache.kmem',
      [
        'let c = kmem_cache_create("dentry", 192, 8, SLAB_RECLAIM_ACCOUNT)',
        'let d = kmem_cache_alloc(c, GFP_KERNEL)',
      ].join('\n'),
    );
    const stopped = dc.waitForEvent('stopped');
    const { functions } = await launch(program, { functions: ['dentry'] });
    assert.equal(functions[0]!.verified, true);
    assert.match(functions[0]!.message ?? '', /a cache the scenario creates by that name/);
    const event = (await stopped) as DebugProtocol.StoppedEvent;
    assert.equal(event.body.reason, 'function breakpoint');
    assert.deepEqual(event.body.hitBreakpointIds, [functions[0]!.id]);
    assert.match(event.body.description ?? '', /^dentry allocated 0xffff888/);
    await assertLocation(2);
  });

  test('a slub_debug breakpoint stops on a SLUB debug report, whose text is in the debug console', async () => {
    const program = scenario(
      'redzone.kmem',
      [
        'machine { slab_debug "FZPU" }',
        'let p = kmalloc(50, GFP_KERNEL)',
        'memset(p, 0x41, 51)',
        'kfree(p)',
        'let after = 1',
        '',
      ].join('\n'),
    );
    const output: string[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => output.push(e.body.output));
    const stopped = dc.waitForEvent('stopped');
    const { functions } = await launch(program, { functions: ['slub_debug'] });
    assert.equal(functions[0]!.verified, true);
    const event = (await stopped) as DebugProtocol.StoppedEvent;
    assert.equal(event.body.reason, 'function breakpoint');
    assert.match(event.body.description ?? '', /^SLUB debugging found a bug in kmalloc-64: .* at 0xffff888/);
    const trace = await dc.stackTraceRequest({ threadId: 1 });
    const line = trace.body.stackFrames.find((f) => f.source)!;
    assert.equal(line.line, 4, 'at the kfree that found it');
    assert.match(output.join(''), /BUG kmalloc-64 \(Not tainted\): kmalloc Redzone overwritten/);
  });

  test('kasan and kmemleak breakpoints stop on their reports, at the statement that made them', async () => {
    const program = scenario(
      'detectors.kmem',
      [
        'machine {',
        '  kasan y',
        '  kmemleak y',
        '}',
        'let p = kmalloc(50, GFP_KERNEL)',
        'write8(p + 50, 1)',
        'let q = kzalloc(40, GFP_KERNEL)',
        'q = 0',
        'msleep(6000)',
        'let n = kmemleak_scan()',
        'let after = 1',
        '',
      ].join('\n'),
    );
    const output: string[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => output.push(e.body.output));
    const first = dc.waitForEvent('stopped');
    const { functions } = await launch(program, { functions: ['kasan', 'kmemleak'] });
    assert.deepEqual(
      functions.map((f) => f.verified),
      [true, true],
    );
    const kasan = (await first) as DebugProtocol.StoppedEvent;
    assert.match(kasan.body.description ?? '', /^KASAN: slab-out-of-bounds at 0xffff888/);
    let trace = await dc.stackTraceRequest({ threadId: 1 });
    assert.equal(trace.body.stackFrames.find((f) => f.source)!.line, 6, 'at the store');
    const second = dc.waitForEvent('stopped');
    await dc.continueRequest({ threadId: 1 });
    const leak = (await second) as DebugProtocol.StoppedEvent;
    assert.match(leak.body.description ?? '', /^kmemleak: unreferenced object at 0xffff888[0-9a-f]+ \(size 64\)/);
    trace = await dc.stackTraceRequest({ threadId: 1 });
    assert.equal(trace.body.stackFrames.find((f) => f.source)!.line, 10, 'at the scan');
    assert.match(output.join(''), /BUG: KASAN: slab-out-of-bounds in line_6/);
    assert.match(output.join(''), /kmemleak: unreferenced object 0x/);
  });

  test("a slab_move breakpoint shows SLUB's own call path: a full slab leaving the CPU, then put_cpu_partial", async () => {
    const program = scenario(
      'moves.kmem',
      [
        'machine { memory 64M; cpus 2 }',
        'let a = kmalloc(1000, GFP_KERNEL)',
        'repeat 16 {',
        '  let b = kmalloc(1000, GFP_KERNEL)', // the 16th fills slab 1; the 17th object needs slab 2
        '}',
        'kfree(a)', // slab 1 was full: __slab_free puts it on CPU 0's partial list
        '',
      ].join('\n'),
    );
    const kernelFrames = async (): Promise<{ label: string; names: string[]; line: number }> => {
      const frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
      return {
        label: frames[0]!.name,
        names: frames.filter((f) => f.presentationHint === 'subtle').map((f) => f.name.split(' ')[0]!),
        line: frames.find((f) => f.source)!.line,
      };
    };
    const stopped = dc.waitForEvent('stopped');
    await launch(program, { functions: ['slab_move'] });
    await stopped;
    let at = await kernelFrames();
    assert.match(at.label, /^slab_move #\d+: kmalloc-1k slab pfn \d+ is now full$/);
    assert.deepEqual(at.names, [
      '___slab_alloc',
      '__slab_alloc',
      '__slab_alloc_node',
      'slab_alloc_node',
      '__do_kmalloc_node',
      '__kmalloc_noprof',
    ]);
    assert.equal(at.line, 4);
    const again = dc.waitForEvent('stopped');
    await dc.continueRequest({ threadId: 1 });
    await again;
    at = await kernelFrames();
    assert.match(at.label, /^slab_move #\d+: kmalloc-1k slab pfn \d+ is now CPU 0's cpu partial$/);
    assert.deepEqual(at.names, ['put_cpu_partial', '__slab_free', 'do_slab_free', 'slab_free', 'kfree']);
    assert.equal(at.line, 6);
  });

  test('rd prints memory as crash does, with the hardened free pointer of a free object', async () => {
    const stopped = dc.waitForEvent('stopped');
    await launch(EXAMPLE, { lines: [lineOf('let again')] });
    await stopped;
    const frameId = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0]!.id;
    const first = (await locals()).get('first')!.value; // freed on the line before: heads CPU 0's freelist
    const out = (await dc.evaluateRequest({ expression: `rd ${first} 14`, frameId, context: 'repl' })).body.result;
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 7);
    // "<address>:  <word> <word>   <ascii>": kmalloc-192's free pointer is at s->offset 96 = word 12.
    const va = BigInt(first);
    for (const [i, line] of lines.entries()) {
      assert.match(line, /^[0-9a-f]{16}: {2}[0-9a-f]{16} [0-9a-f]{16} {3}.{16}$/);
      assert.equal(line.slice(0, 16), (va + BigInt(16 * i)).toString(16));
    }
    const word12 = lines[6]!.slice(19, 35);
    assert.notEqual(word12, '0000000000000000', 'a free object holds its encoded next pointer');
    const bad = await dc.evaluateRequest({ expression: 'rd 0x10 2', frameId, context: 'repl' }).catch((e: Error) => e);
    assert.ok(bad instanceof Error);
    assert.match(bad.message, /not a direct-map address/);
  });

  test('the machine scope shows buddy free areas and slab caches; evaluate prints /proc files', async () => {
    const stopped = dc.waitForEvent('stopped');
    await launch(EXAMPLE, { lines: [lineOf('let big')] });
    await stopped;
    const trace = await dc.stackTraceRequest({ threadId: 1 });
    const scopes = await dc.scopesRequest({ frameId: trace.body.stackFrames[0]!.id });
    const machine = scopes.body.scopes.find((s) => s.name === 'Machine')!;
    const vars = new Map(
      (await dc.variablesRequest({ variablesReference: machine.variablesReference })).body.variables.map((v) => [
        v.name,
        v,
      ]),
    );
    assert.equal(vars.get('memory')!.value, '256M');
    assert.equal(vars.get('cpus')!.value, '2');
    const caches = await dc.variablesRequest({ variablesReference: vars.get('slab caches')!.variablesReference });
    const k192 = caches.body.variables.find((v) => v.name === 'kmalloc-192')!;
    // 52 objects in 21-object slabs: 3 slabs, all 63 objects counted active (2 full slabs + the cpu slab).
    assert.equal(k192.value, '63/63 objs, 3 slabs, 52 live');
    const k192Fields = new Map(
      (await dc.variablesRequest({ variablesReference: k192.variablesReference })).body.variables.map((v) => [
        v.name,
        v.value,
      ]),
    );
    assert.deepEqual(
      ['partial', 'cpu_slabs', 'cpu partial slabs', 'min_partial'].map((k) => k192Fields.get(k)),
      ['0', '1', '0', '5'],
    );
    const zones = await dc.variablesRequest({
      variablesReference: vars.get('free blocks per order')!.variablesReference,
    });
    // A 256M machine has the DMA zone (below 16 MiB) and DMA32; /proc/buddyinfo skips the empty Normal zone.
    assert.deepEqual(
      zones.body.variables.map((v) => v.name),
      ['zone DMA', 'zone DMA32'],
    );
    assert.match(zones.body.variables[0]!.value, /^0 0 0 0 0 0 0 0 1 1 3 \(3840 of 3840 pages free\)$/);
    const orders = await dc.variablesRequest({ variablesReference: zones.body.variables[1]!.variablesReference });
    // 11 orders, then the page blocks by type, the watermarks and the per-CPU lists.
    assert.equal(orders.body.variables.length, 14);
    assert.match(orders.body.variables[10]!.value, /^\d+ free blocks of 4M \(Movable \d+\)$/);
    assert.deepEqual(
      orders.body.variables.slice(11).map((v) => v.name),
      ['page blocks', 'watermarks', 'per-CPU lists'],
    );
    assert.match(orders.body.variables[11]!.value, /^Unmovable \d+, Movable \d+$/);
    assert.match(
      orders.body.variables[13]!.value,
      /^cpu0 \d+ \(high \d+, batch 15\); cpu1 \d+ \(high \d+, batch 15\)$/,
    );
    const slabinfo = await dc.evaluateRequest({ expression: 'slabinfo', context: 'repl' });
    assert.match(slabinfo.body.result, /^slabinfo - version: 2\.1\n/);
    assert.match(slabinfo.body.result, /\nkmalloc-192 +63 +63 +192 +21 +1 : tunables +0 +0 +0 : slabdata +3 +3 +0\n/);
    const zoneinfo = await dc.evaluateRequest({ expression: 'zoneinfo', context: 'repl' });
    assert.match(zoneinfo.body.result, /^Node 0, zone {6}DMA\n {2}pages free {5}\d+\n {8}boost {4}0\n {8}min {6}30\n/);
    const meminfo = await dc.evaluateRequest({ expression: '/proc/meminfo', context: 'repl' });
    // MemTotal = 256M - the first 1M - the 8M kernel image - 4M of memmap (64 B x 65536 frames) - 5 early
    // page-table pages (pgd, and a pud and pmd each for the direct map and the kernel image) = 248812 kB.
    assert.match(meminfo.body.result, /^MemTotal: {9}248812 kB\nMemFree: +\d+ kB\nMemAvailable: +\d+ kB\n/);
    assert.match((await dc.evaluateRequest({ expression: 'cat meminfo', context: 'repl' })).body.result, /^MemTotal:/);
    const proc = await dc.customRequest('kmem/proc', { name: 'zoneinfo' });
    // DMA's lowmem_reserve = DMA32's managed pages / 256: (61440 frames - 2048 kernel image - 5 page tables -
    // 1024 memmap) / 256 = 58363 / 256 = 227.
    assert.match(proc.body.text, /\n {8}protection: \(0, 227, 227, 227\)\n/);
    await assert.rejects(dc.customRequest('kmem/proc', { name: 'vmstat' }), /zoneinfo/);
    const value = await dc.evaluateRequest({ expression: 'first', context: 'hover' });
    assert.match(value.body.result, /^0xffff888/);
    await assert.rejects(dc.evaluateRequest({ expression: 'nonsense', context: 'repl' }), /Cannot evaluate 'nonsense'/);
    const state = await dc.customRequest('kmem/state');
    assert.equal(state.body.stop.line, lineOf('let big'));
    assert.ok(
      state.body.slabinfo.caches.some(
        (c: { name: string; numSlabs: number }) => c.name === 'kmalloc-192' && c.numSlabs === 3,
      ),
    );
  });

  test('continue runs to the end and terminates', async () => {
    const terminated = dc.waitForEvent('terminated');
    await launch(EXAMPLE);
    await terminated;
  });

  test('a double free stops as an exception with its code', async () => {
    const program = scenario('double-free.kmem', 'let p = kmalloc(64, GFP_KERNEL)\nkfree(p)\nkfree(p)\n');
    const stopped = dc.waitForEvent('stopped');
    await launch(program);
    const event = (await stopped) as DebugProtocol.StoppedEvent;
    assert.equal(event.body.reason, 'exception');
    assert.match(event.body.text ?? '', /^KM4002: double free/);
    await assertLocation(3);
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    assert.equal(info.body.exceptionId, 'KM4002');
    const terminated = dc.waitForEvent('terminated');
    await dc.continueRequest({ threadId: 1 });
    await terminated;
  });

  test('page allocator: pointer expansion, a failure warning as output, a double free_pages as exception', async () => {
    const program = scenario(
      'pages.kmem',
      [
        'machine { memory 16M }',
        'let p = alloc_pages(3, GFP_KERNEL)',
        'repeat 4 {',
        '  let b = alloc_pages(10, GFP_KERNEL)',
        '}',
        'free_pages(p, 3)',
        'free_pages(p, 3)',
        '',
      ].join('\n'),
    );
    const outputs: DebugProtocol.OutputEvent[] = [];
    dc.on('output', (e) => outputs.push(e as DebugProtocol.OutputEvent));
    const atFree = dc.waitForEvent('stopped');
    await launch(program, { lines: [6] });
    assert.equal(((await atFree) as DebugProtocol.StoppedEvent).body.reason, 'breakpoint');
    // The order-3 Unmovable allocation stole the zone's only 4 MiB block (__rmqueue_fallback takes the largest
    // block of another type first), so every order-10 request fails: NULL, and warn_alloc's report.
    const warning = outputs.find((o) => o.body.output.includes('page allocation failure'));
    assert.ok(warning, 'the failure report arrived as an output event');
    assert.equal(warning.body.category, 'console');
    assert.match(
      warning.body.output,
      /^kmem: page allocation failure: order:10, mode:0xcc0\(GFP_KERNEL\), nodemask=\(null\)\nNode 0 DMA: \d+\*4kB .* 0\*4096kB = \d+kB\n$/,
    );
    const vars = await locals();
    const p = vars.get('p')!;
    assert.ok(p.variablesReference > 0);
    const fields = new Map(
      (await dc.variablesRequest({ variablesReference: p.variablesReference })).body.variables.map((v) => [
        v.name,
        v.value,
      ]),
    );
    assert.equal(fields.get('zone'), 'DMA');
    assert.equal(fields.get('state'), 'pages');
    assert.equal(fields.get('order'), '3 (32K)');
    assert.equal(fields.get('head pfn'), fields.get('pfn'));
    const stopped = dc.waitForEvent('stopped');
    await dc.continueRequest({ threadId: 1 });
    const event = (await stopped) as DebugProtocol.StoppedEvent;
    assert.equal(event.body.reason, 'exception');
    assert.match(event.body.text ?? '', /^KM4005: BUG: Bad page state in process kmem {2}pfn:[0-9a-f]{5}$/);
    await assertLocation(7);
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    assert.equal(info.body.exceptionId, 'KM4005');
    assert.match(
      info.body.details?.message ?? '',
      /\npage dumped because: VM_BUG_ON_PAGE\(page_ref_count\(page\) == 0\)\n/,
    );
    assert.ok(
      outputs.some((o) => o.body.category === 'stderr' && /^BUG: Bad page state/.test(o.body.output)),
      'the whole report is printed',
    );
    const terminated = dc.waitForEvent('terminated');
    await dc.continueRequest({ threadId: 1 });
    await terminated;
  });

  test('vmalloc areas, the kernel page table and debugfs in the debug console', async () => {
    const program = scenario(
      'vmalloc.kmem',
      ['machine { memory 64M; cpus 1 }', 'let v = vmalloc(5000)', 'let w = vmalloc(4096)', 'vfree(v)', ''].join('\n'),
    );
    const atFree = dc.waitForEvent('stopped');
    await launch(program, { lines: [4] });
    await atFree;
    const repl = async (expression: string) => (await dc.evaluateRequest({ expression, context: 'repl' })).body.result;
    // vmalloc(5000): two pages and a guard page from VMALLOC_START (x86-64 4-level: 0xffffc90000000000);
    // vmalloc(4096) right after: one page and its guard (mm/vmalloc.c, first fit by address).
    assert.match(
      await repl('vmallocinfo'),
      /^0xffffc90000000000-0xffffc90000003000 {3}12288 vmalloc at line 2 pages=2 vmalloc N0=2\n0xffffc90000003000-0xffffc90000005000 {4}8192 vmalloc at line 3 pages=1 vmalloc N0=1\n$/,
    );
    // The walk of v: pgd index (0xffffc90000000000 >> 39) & 511 = 402, then pud 0, pmd 0, pte 0: a 4K page.
    const walk = await repl('pagewalk v');
    assert.match(walk, /^0xffffc90000000000: x86_64, CR3 -> pgd at 0x[0-9a-f]{16}\n {2}pgd\[402\] /);
    assert.match(
      walk,
      /\n {2}pte\[0\] +@ 0x[0-9a-f]{16} = 0x8000000[0-9a-f]{6}163 {2}PRESENT RW ACCESSED DIRTY GLOBAL NX\n/,
    );
    assert.match(walk, /vmalloc: offset 0 in area/);
    // The guard page after v is not mapped.
    assert.match(await repl('pagewalk 0xffffc90000002000'), /not mapped: pte entry not present/);
    assert.match(await repl('cat /sys/kernel/debug/page_tables/kernel'), /---\[ vmalloc\(\) Area \]---/);
    assert.match(await repl('extfrag/unusable_index'), /^Node 0, zone {6}DMA /);
    assert.match(await repl('pagetypeinfo'), /^Page block order: 9\nPages per block: {2}512\n/);
    await assert.rejects(repl('pagewalk nowhere'), /pagewalk takes an address/);
    // kmem ADDR, as crash answers it: the region, the area, the frame and its owner.
    assert.match(
      await repl('kmem v'),
      /^0xffffc90000000000: vmalloc\n {2}vmalloc: offset 0 in area 0xffffc90000000000-0xffffc90000003000 \(vmalloc at line 2\)\n {2}phys 0x[0-9a-f]+, pfn 0x[0-9a-f]+, zone DMA32, page block \w+\n {2}vmalloc page 0 of the area at 0xffffc90000000000 \(vmalloc at line 2\)\n$/,
    );
    assert.match(await repl('kmem 0xffffc90000002000'), /guard page of area 0xffffc90000000000-0xffffc90000003000/);
    assert.match(await repl('kmem 0xffff888000001000'), /reserved at boot \(low memory\)/);
    const terminated = dc.waitForEvent('terminated');
    await dc.terminateRequest({});
    await terminated;
  });

  test('processes in the Machine scope and the debug console: maps, status, a user page walk', async () => {
    const program = scenario(
      'procs.kmem',
      [
        'machine { memory 64M; cpus 1 }',
        'let init = spawn("init")',
        'let p = spawn("bash")',
        'mmap(p, 0x400000, 16K, PROT_READ | PROT_WRITE)',
        'touch(p, 0x400000, 8K, PROT_WRITE)',
        'let c = fork(p)',
        '',
      ].join('\n'),
    );
    const stopped = dc.waitForEvent('stopped');
    await launch(program, { lines: [6] });
    await stopped;
    const repl = async (expression: string) => (await dc.evaluateRequest({ expression, context: 'repl' })).body.result;
    // fs/proc/task_mmu.c show_map_vma: "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " for an anonymous mapping.
    assert.equal(await repl('maps 2'), '00400000-00404000 rw-p 00000000 00:00 0 \n');
    assert.match(await repl('status 2'), /^Name:\tbash\nPid:\t2\nVmSize:\t {6}16 kB\nVmRSS:\t {7}8 kB\n/);
    // 0x400000: pgd[0] -> pud[0] -> pmd[2] -> pte[0] on x86-64 4-level; present, RW, USER, Accessed, Dirty, NX.
    const walk = await repl('pagewalk 2 0x400000');
    assert.match(walk, /\n {2}pmd\[2\] /);
    assert.match(walk, /\n {2}pte\[0\] +@ 0x[0-9a-f]{16} = 0x8[0-9a-f]{15} {2}PRESENT RW USER ACCESSED DIRTY NX\n/);
    assert.match(await repl('pagewalk 2 0x403000'), /not mapped: pte entry not present/);
    await assert.rejects(repl('maps 9'), /no process with pid 9/);
    const scopes = await dc.scopesRequest({
      frameId: (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0]!.id,
    });
    const machineScope = scopes.body.scopes.find((s) => s.name === 'Machine')!;
    const vars = (await dc.variablesRequest({ variablesReference: machineScope.variablesReference })).body.variables;
    const procs = vars.find((v) => v.name === 'processes')!;
    assert.equal(procs.value, '2 (32 kB of kernel stacks)');
    const list = (await dc.variablesRequest({ variablesReference: procs.variablesReference })).body.variables;
    // Page-table pages of each address space, pgd included: pid 1 has only its pgd; pid 2 a pgd, a pud, a
    // pmd and a pte table for 0x400000.
    assert.deepEqual(
      list.map((v) => [v.name, v.value]),
      [
        ['pid 1', 'init: 0 pages resident, 0 mappings, 1 page-table pages'],
        ['pid 2', 'bash: 2 pages resident, 1 mapping, 4 page-table pages'],
      ],
    );
    const terminated = dc.waitForEvent('terminated');
    await dc.terminateRequest({});
    await terminated;
  });

  test('SLUB in the debug console: slabtop, /sys/kernel/slab, one slab, one object', async () => {
    const program = scenario(
      'slub.kmem',
      [
        'machine { memory 64M; cpus 2 }',
        'let a = kmalloc(150, GFP_KERNEL)',
        'let b = kmalloc(150, GFP_KERNEL)',
        'kfree(a)',
        'let c = kmem_cache_create("skbuff_head", 232, 0, SLAB_HWCACHE_ALIGN)',
        'let skb = kmem_cache_alloc(c, GFP_KERNEL)',
        'let done = 1',
        '',
      ].join('\n'),
    );
    const stopped = dc.waitForEvent('stopped');
    await launch(program, { lines: [7] });
    await stopped;
    const repl = async (expression: string) => (await dc.evaluateRequest({ expression, context: 'repl' })).body.result;
    assert.match(await repl('slabtop'), /^ Active \/ Total Objects \(% used\) +: /);
    // mm/slub.c: "%u\n" files; kmalloc-192 with 2 CPUs holds 21 objects in an order-0 slab.
    assert.equal(await repl('sysfs slab kmalloc-192 objs_per_slab'), '21\n');
    assert.equal(await repl('cat /sys/kernel/slab/kmalloc-192/order'), '0\n');
    // skbuff_head: ALIGN(232, 64) = 256-byte slots.
    assert.equal(await repl('sysfs slab skbuff_head slab_size'), '256\n');
    assert.match(await repl('ls /sys/kernel/slab'), /\nkmalloc-192\n/);
    // b is object 1 of the cpu slab; a (object 0) was freed and heads CPU 0's freelist.
    assert.match(await repl('object b'), /kmalloc-192/);
    assert.match(await repl('slab b'), /kmalloc-192/);
    assert.match(await repl('kmem a'), /slab page of kmalloc-192 \(192-byte objects\), object 0 \(\+0\), cpu freelist/);
    await assert.rejects(repl('sysfs slab nosuch'), /no slab cache nosuch/);
    const terminated = dc.waitForEvent('terminated');
    await dc.terminateRequest({});
    await terminated;
  });

  test('pause interrupts a long run at once', async () => {
    const program = scenario('long.kmem', 'repeat 100000000 {\n  let p = kmalloc(64, GFP_KERNEL)\n  kfree(p)\n}\n');
    await launch(program);
    const stopped = dc.waitForEvent('stopped');
    await dc.pauseRequest({ threadId: 1 });
    assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'pause');
    const trace = await dc.stackTraceRequest({ threadId: 1 });
    assert.ok([1, 2, 3].includes(trace.body.stackFrames[0]!.line));
    const terminated = dc.waitForEvent('terminated');
    await dc.terminateRequest({});
    await terminated;
  });

  test('includes: a breakpoint in the included file stops there, with its own frame; lists expand into items', async () => {
    scenario(
      'lib-pools.kmem',
      ['proc fill(pool, n) {', '  repeat n {', '    push pool, kmalloc(192, GFP_KERNEL)', '  }', '}'].join('\n'),
    );
    const lib = join(scratch, 'lib-pools.kmem');
    const program = scenario(
      'pools-main.kmem',
      ['include "lib-pools.kmem"', 'let pool = []', 'fill(pool, 3)', 'print length(pool)'].join('\n'),
    );
    const initialized = dc.waitForEvent('initialized');
    await dc.initializeRequest({ adapterID: 'kmem', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    const launched = dc.launchRequest({ program, workspaceRoot: scratch } as DebugProtocol.LaunchRequestArguments);
    await initialized;
    const set = await dc.setBreakpointsRequest({ source: { path: lib }, breakpoints: [{ line: 3 }] });
    assert.deepEqual(
      set.body.breakpoints.map((b) => [b.verified, b.line]),
      [[true, 3]],
    );
    let stopped = dc.waitForEvent('stopped');
    await dc.configurationDoneRequest();
    await launched;
    assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'breakpoint');
    stopped = dc.waitForEvent('stopped');
    await dc.continueRequest({ threadId: 1 });
    await stopped;
    const trace = await dc.stackTraceRequest({ threadId: 1 });
    assert.deepEqual(
      trace.body.stackFrames.map((f) => [f.name, f.source?.path, f.line]),
      [
        ['fill', lib, 3],
        ['pools-main', program, 3],
      ],
    );
    const vars = await locals(trace.body.stackFrames[1]!.id);
    const pool = vars.get('pool')!;
    assert.equal(pool.value, 'list of 1');
    assert.equal(pool.type, 'list');
    const items = await dc.variablesRequest({ variablesReference: pool.variablesReference });
    assert.deepEqual(
      items.body.variables.map((v) => v.name),
      ['[0]'],
    );
    assert.match(items.body.variables[0]!.value, /^0xffff8880[0-9a-f]{8}$/);
    const object = await dc.variablesRequest({ variablesReference: items.body.variables[0]!.variablesReference });
    assert.equal(new Map(object.body.variables.map((v) => [v.name, v.value])).get('cache'), 'kmalloc-192');
    const printed = await dc.evaluateRequest({
      expression: 'pool',
      context: 'repl',
      frameId: trace.body.stackFrames[1]!.id,
    });
    assert.match(printed.body.result, /^\[0xffff8880[0-9a-f]{8}\]$/);
    const state = await dc.customRequest('kmem/state');
    assert.deepEqual(
      [state.body.stop.reason, state.body.stop.line, state.body.stop.file],
      ['breakpoint', 3, lib],
      'the panel is told the stop is in the included file',
    );
    const frameId = trace.body.stackFrames[1]!.id;
    const count = await dc.evaluateRequest({ expression: 'length(pool) + 10', context: 'watch', frameId });
    assert.equal(count.body.result, '11');
    const first = await dc.evaluateRequest({ expression: 'pool[0]', context: 'hover', frameId });
    assert.equal(first.body.result, items.body.variables[0]!.value);
    assert.ok(first.body.variablesReference > 0, 'a pointer result expands into its object');
    await assert.rejects(
      dc.evaluateRequest({ expression: 'kmalloc(8, GFP_KERNEL)', context: 'repl', frameId }),
      /the debugger only reads/,
    );
  });

  test('processes are threads: the scenario runs on the current one after switch_to', async () => {
    const program = scenario(
      'threads.kmem',
      [
        'let init = spawn("init")',
        'let web = spawn("nginx")',
        'switch_to(web)',
        'let p = kmalloc(64, GFP_KERNEL)',
      ].join('\n'),
    );
    const stopped = dc.waitForEvent('stopped');
    await launch(program, { lines: [4] });
    const event = (await stopped) as DebugProtocol.StoppedEvent;
    assert.equal(event.body.threadId, 2);
    const threads = await dc.threadsRequest();
    assert.deepEqual(
      threads.body.threads.map((t) => [t.id, t.name]),
      [
        [1, 'init (pid 1)'],
        [2, 'nginx (pid 2) current'],
      ],
    );
    const running = await dc.stackTraceRequest({ threadId: 2 });
    assert.equal(running.body.stackFrames[0]!.line, 4);
    const other = await dc.stackTraceRequest({ threadId: 1 });
    assert.deepEqual(
      other.body.stackFrames.map((f) => [f.name, f.presentationHint]),
      [['init (pid 1) is not running: the scenario runs as nginx (pid 2)', 'label']],
    );
  });

  test('an include outside the workspace refuses the launch with KM2030', async () => {
    const inner = mkdtempSync(join(scratch, 'ws-'));
    scenario('outside.kmem', 'let x = 1');
    const program = join(inner, 'main.kmem');
    writeFileSync(program, 'include "../outside.kmem"\n');
    await dc.initializeRequest({ adapterID: 'kmem', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    await assert.rejects(
      dc.launchRequest({ program, workspaceRoot: inner } as DebugProtocol.LaunchRequestArguments),
      /main\.kmem:1:9: error KM2030: '\.\.\/outside\.kmem' is outside the workspace/,
    );
  });

  test('bad launch configurations get coded errors and the adapter keeps answering', async () => {
    await dc.initializeRequest({ adapterID: 'kmem', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    const bad = (args: Record<string, unknown>) => dc.launchRequest(args as DebugProtocol.LaunchRequestArguments);
    await assert.rejects(bad({ program: 42, cpus: 0, memory: 'lots' }), (e: Error) => {
      assert.match(e.message, /'program' must be/);
      assert.match(e.message, /'memory' must be a size/);
      assert.match(e.message, /'cpus' must be a whole number/);
      return true;
    });
    await assert.rejects(bad({ program: join(scratch, 'missing.kmem') }), /Cannot read scenario/);
    const broken = scenario('broken.kmem', 'let p = kmalloc(64, GFP_KERNEL\nkfree(q)\n');
    await assert.rejects(bad({ program: broken }), /broken\.kmem:\d+:\d+: error KM\d{4}/);
    await assert.rejects(dc.customRequest('kmem/nothing'), /Unknown request 'kmem\/nothing'/);
    const threads = await dc.threadsRequest();
    assert.equal(threads.body.threads.length, 1);
  });
});
