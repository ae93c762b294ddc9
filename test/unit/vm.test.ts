/*
 * The VM: loop counts (seen through machine.events), the host's stop semantics (breakAtLine, stepStatements,
 * stopOnEvent with resume mid-statement, budget stops and resumes), runtime errors, locals() and frames(),
 * builtin semantics (NULL, ZERO_SIZE_PTR, failure), arithmetic, and determinism.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { loadScenario, LoadedScenario } from '../../engine/scenario';
import { EventKind, KmemEvent } from '../../engine/trace/events';
import { Stop, Vm, formatValue } from '../../engine/vm/vm';
import { disassemble } from '../../engine/vm/program';

const EXAMPLE_PATH = resolve(__dirname, '..', '..', 'examples', 'slab-growth.kmem');
const EXAMPLE = readFileSync(EXAMPLE_PATH, 'utf8');
const BIG = 1e12;

function load(source: string, fileName = 'test.kmem'): LoadedScenario {
  const { diagnostics, scenario } = loadScenario(source, fileName);
  assert.deepEqual(diagnostics, [], 'the script must load without diagnostics');
  return scenario!;
}

function runToEnd(vm: Vm): Stop {
  return vm.run({ maxInstructions: BIG });
}

function eventsOf(s: LoadedScenario, kind?: EventKind): KmemEvent[] {
  const all = s.machine.events.slice(0);
  return kind === undefined ? all : all.filter((e) => e.kind === kind);
}

function locals(vm: Vm): string[] {
  return vm.locals(0).map((v) => `${v.name}=${formatValue(v.value)}:${v.kind}`);
}

/** The 0-based lines a "next" walks through in the example, from the first statement to the last. */
function exampleStatementLines(): number[] {
  const lines = [6, 7, 8, 9, 11];
  for (let i = 0; i < 50; i++) lines.push(12, 11);
  lines.push(15);
  for (let i = 0; i < 8; i++) lines.push(16, 17, 15);
  lines.push(20, 21, 22, 23);
  return lines;
}

// ---- loops --------------------------------------------------------------------------------------------

test('loop counts, seen as kmalloc events', () => {
  const count = (source: string): number => {
    const s = load(source);
    assert.equal(runToEnd(s.vm).reason, 'end');
    return eventsOf(s, EventKind.Kmalloc).length;
  };
  assert.equal(count('repeat 10 { let p = kmalloc(8, GFP_KERNEL) }'), 10);
  assert.equal(count('repeat 0 { let p = kmalloc(8, GFP_KERNEL) }'), 0);
  assert.equal(count('for i in 0..8 { let p = kmalloc(8, GFP_KERNEL) }'), 8);
  assert.equal(count('for i in 5..3 { let p = kmalloc(8, GFP_KERNEL) }'), 0);
  assert.equal(count('for i in -2..2 { let p = kmalloc(8, GFP_KERNEL) }'), 4);
  assert.equal(count('repeat 3 { for i in 0..4 { kfree(kmalloc(8, GFP_KERNEL)) } }'), 12);
  assert.equal(count('repeat 2 { repeat 3 { repeat 4 { let p = kmalloc(8, GFP_KERNEL) } } }'), 24);
});

test('loop counts and bounds are evaluated once', () => {
  const s = load(
    'let n = 3\nrepeat n {\n  n = n + 1\n  let p = kmalloc(8, GFP_KERNEL)\n}\nfor i in 0..n { n = n + 1 }',
  );
  runToEnd(s.vm);
  assert.equal(eventsOf(s, EventKind.Kmalloc).length, 3);
  assert.deepEqual(locals(s.vm), ['n=12:int']);
});

test('the for variable takes each value of the half-open range', () => {
  const s = load('for i in 1..5 { let p = kmalloc(i * 10, GFP_KERNEL) }');
  runToEnd(s.vm);
  assert.deepEqual(
    eventsOf(s, EventKind.Kmalloc).map((e) => e.size),
    [10, 20, 30, 40],
  );
});

test('events carry the 1-based line of their statement and CPU 0', () => {
  const s = load(EXAMPLE, EXAMPLE_PATH);
  runToEnd(s.vm);
  const kmallocs = eventsOf(s, EventKind.Kmalloc);
  assert.deepEqual(
    kmallocs.slice(0, 3).map((e) => e.line),
    [7, 8, 10],
  );
  assert.equal(kmallocs.filter((e) => e.line === 13).length, 50);
  assert.equal(kmallocs.filter((e) => e.line === 17).length, 8);
  assert.ok(eventsOf(s).every((e) => e.cpu === 0));
});

// ---- stops --------------------------------------------------------------------------------------------

test('the VM stands at its first statement before the first run', () => {
  const s = load(EXAMPLE, EXAMPLE_PATH);
  assert.equal(s.vm.status, 'paused');
  assert.equal(s.vm.currentLine(), 6);
  assert.equal(s.vm.statementsExecuted, 0);
  assert.equal(s.vm.instructionsExecuted, 0);
  assert.deepEqual(s.vm.locals(0), []);
  assert.deepEqual(s.vm.frames(), [
    { name: 'slab-growth', file: EXAMPLE_PATH, line: 6, character: 0, endLine: 6, endCharacter: 36 },
  ]);
});

test('stepStatements: 1 walks every statement, loop headers again at each iteration', () => {
  const s = load(EXAMPLE, EXAMPLE_PATH);
  const seen = [s.vm.currentLine()];
  for (;;) {
    const stop = s.vm.run({ maxInstructions: BIG, stepStatements: 1 });
    if (stop.reason === 'end') break;
    assert.equal(stop.reason, 'step');
    assert.equal(stop.line, s.vm.currentLine());
    seen.push(stop.line);
  }
  assert.deepEqual(seen, exampleStatementLines());
  assert.equal(s.vm.status, 'done');
  assert.equal(s.vm.statementsExecuted, exampleStatementLines().length);
});

test('stepStatements: n stops once n new statements have started', () => {
  const s = load(EXAMPLE, EXAMPLE_PATH);
  const stop = s.vm.run({ maxInstructions: BIG, stepStatements: 3 });
  assert.deepEqual(stop, { reason: 'step', line: 9 });
  assert.equal(s.vm.statementsExecuted, 3);
});

test('breakAtLine is asked before each new statement, never for the one the VM stands at', () => {
  const s = load(EXAMPLE, EXAMPLE_PATH);
  const asked: number[] = [];
  const seen = [s.vm.currentLine()];
  for (;;) {
    const stop = s.vm.run({
      maxInstructions: BIG,
      breakAtLine: (line) => {
        asked.push(line);
        return true;
      },
    });
    if (stop.reason === 'end') break;
    assert.equal(stop.reason, 'breakpoint');
    seen.push(stop.line);
  }
  assert.deepEqual(seen, exampleStatementLines());
  assert.deepEqual(asked, exampleStatementLines().slice(1));
});

test('breakpoints in a loop body stop at every iteration; continue moves on', () => {
  const s = load(EXAMPLE, EXAMPLE_PATH);
  const stops: Stop[] = [];
  for (;;) {
    const stop = s.vm.run({ maxInstructions: BIG, breakAtLine: (line) => line === 12 || line === 21 });
    if (stop.reason === 'end') break;
    stops.push(stop);
  }
  assert.equal(stops.length, 51);
  assert.ok(stops.slice(0, 50).every((st) => st.reason === 'breakpoint' && st.line === 12));
  assert.deepEqual(stops[50], { reason: 'breakpoint', line: 21 });
});

test('askCurrent: a breakpoint on the first statement stops the first run', () => {
  const s = load(EXAMPLE, EXAMPLE_PATH);
  const options = { maxInstructions: BIG, breakAtLine: (line: number) => line === 6, askCurrent: true };
  assert.deepEqual(s.vm.run(options), { reason: 'breakpoint', line: 6 });
  assert.equal(s.vm.statementsExecuted, 0);
  // Continuing from there starts that statement without stopping on it again.
  assert.equal(s.vm.run({ maxInstructions: BIG, breakAtLine: (line) => line === 6 }).reason, 'end');
});

test('stopOnEvent: stops right after the builtin, mid-statement, and resumes from there', () => {
  const reference = load(EXAMPLE, EXAMPLE_PATH);
  runToEnd(reference.vm);

  const s = load(EXAMPLE, EXAMPLE_PATH);
  const events = s.machine.events;
  const slabNew = (first: number, end: number): number | undefined => {
    for (let seq = first; seq < end; seq++) {
      if (events.kindAt(seq) === EventKind.SlabNew) return seq;
    }
    return undefined;
  };
  const first = s.vm.run({ maxInstructions: BIG, stopOnEvent: slabNew });
  assert.equal(first.reason, 'event');
  assert.equal(first.line, 6);
  assert.equal(events.get(first.eventSeq!).kind, EventKind.SlabNew);
  // The frame points at the call; the variable being declared is not assigned yet.
  assert.deepEqual(s.vm.frames(), [
    { name: 'slab-growth', file: EXAMPLE_PATH, line: 6, character: 12, endLine: 6, endCharacter: 36 },
  ]);
  assert.deepEqual(s.vm.locals(0), []);
  assert.equal(s.vm.statementsExecuted, 1);

  // "next" from a mid-statement stop finishes the statement and stands at the next one.
  assert.deepEqual(s.vm.run({ maxInstructions: BIG, stepStatements: 1 }), { reason: 'step', line: 7 });
  assert.deepEqual(
    s.vm.locals(0).map((v) => v.name),
    ['first'],
  );
  assert.equal(s.vm.statementsExecuted, 1);

  const stops: Stop[] = [];
  for (;;) {
    const stop = s.vm.run({ maxInstructions: BIG, stopOnEvent: slabNew });
    if (stop.reason === 'end') break;
    stops.push(stop);
  }
  // kmalloc-192 gets its 2nd and 3rd slab in the repeat body, kmalloc-1k its first in the for body,
  // and the 20000-byte kmalloc takes pages, not a slab.
  assert.deepEqual(
    stops.map((st) => [st.reason, st.line]),
    [
      ['event', 12],
      ['event', 12],
      ['event', 16],
    ],
  );
  assert.deepEqual(eventsOf(s), eventsOf(reference));
  assert.equal(s.vm.statementsExecuted, reference.vm.statementsExecuted);
  assert.equal(s.vm.instructionsExecuted, reference.vm.instructionsExecuted);
});

test('budget: stops at statement boundaries, resumes, and changes nothing', () => {
  const reference = load(EXAMPLE, EXAMPLE_PATH);
  runToEnd(reference.vm);

  const s = load(EXAMPLE, EXAMPLE_PATH);
  let budgetStops = 0;
  let breakpoints = 0;
  for (;;) {
    const stop = s.vm.run({ maxInstructions: 1, breakAtLine: (line) => line === 17 });
    if (stop.reason === 'end') break;
    if (stop.reason === 'budget') {
      budgetStops++;
      assert.equal(stop.line, s.vm.currentLine());
      assert.equal(s.vm.status, 'paused');
    } else {
      assert.deepEqual(stop, { reason: 'breakpoint', line: 17 });
      breakpoints++;
    }
  }
  assert.equal(breakpoints, 8, 'budget stops must not hide breakpoints');
  assert.ok(budgetStops > 100);
  assert.deepEqual(eventsOf(s), eventsOf(reference));
  assert.equal(s.vm.statementsExecuted, reference.vm.statementsExecuted);
  assert.equal(s.vm.instructionsExecuted, reference.vm.instructionsExecuted);
});

test('budget: a large loop yields in slices of about maxInstructions', () => {
  const s = load('repeat 10000 { let p = kmalloc(64, GFP_KERNEL); kfree(p) }');
  let slices = 0;
  let before = 0;
  for (;;) {
    const stop = s.vm.run({ maxInstructions: 1000 });
    const spent = s.vm.instructionsExecuted - before;
    before = s.vm.instructionsExecuted;
    slices++;
    if (stop.reason === 'end') break;
    assert.equal(stop.reason, 'budget');
    // A slice stops at the first statement boundary once the budget is spent.
    assert.ok(spent >= 1000 && spent < 1010, `slice of ${spent}`);
  }
  assert.equal(s.vm.instructionsExecuted, 10 * 10000 + 5);
  assert.equal(s.vm.statementsExecuted, 3 * 10000 + 1);
  assert.equal(slices, 101);
  assert.equal(eventsOf(s, EventKind.Kmalloc).length, 10000);
});

test('a step of 1 never ends in a budget stop', () => {
  const s = load(EXAMPLE, EXAMPLE_PATH);
  for (let i = 0; i < 20; i++) {
    assert.equal(s.vm.run({ maxInstructions: 1, stepStatements: 1 }).reason, 'step');
  }
});

test('done and error are final: run() answers at once', () => {
  const s = load('let p = 1');
  assert.deepEqual(runToEnd(s.vm), { reason: 'end', line: 0 });
  assert.equal(s.vm.status, 'done');
  const instructions = s.vm.instructionsExecuted;
  assert.deepEqual(runToEnd(s.vm), { reason: 'end', line: 0 });
  assert.equal(s.vm.instructionsExecuted, instructions);

  const empty = load('# nothing to do\n');
  assert.equal(empty.program.executableLines.length, 0);
  assert.equal(empty.vm.status, 'paused');
  assert.deepEqual(runToEnd(empty.vm), { reason: 'end', line: 0 });
});

// ---- errors -------------------------------------------------------------------------------------------

test('double free: KM4002 with the range of the call, status error', () => {
  const s = load('let p = kmalloc(64, GFP_KERNEL)\nkfree(p)\n  kfree(p)   # again\nlet q = 1');
  const stop = runToEnd(s.vm);
  assert.equal(stop.reason, 'error');
  assert.equal(stop.line, 2);
  assert.equal(stop.error!.code, 'KM4002');
  assert.match(stop.error!.message, /double free/);
  assert.deepEqual(stop.error!.range, { start: { line: 2, character: 2 }, end: { line: 2, character: 10 } });
  assert.equal(s.vm.status, 'error');
  assert.deepEqual(s.vm.error, stop.error);
  assert.deepEqual(s.vm.frames(), [
    { name: 'test', file: 'test.kmem', line: 2, character: 2, endLine: 2, endCharacter: 10 },
  ]);
  assert.deepEqual(runToEnd(s.vm), stop);
  // The machine is left as the bad free found it: one kmalloc, one kfree.
  assert.equal(eventsOf(s, EventKind.Kfree).length, 1);
});

test('statement limit: KM4100 on the statement that would exceed it', () => {
  const s = load('repeat 10 {\n  let p = 1\n}');
  s.vm.statementLimit = 4;
  const stop = runToEnd(s.vm);
  assert.equal(stop.error?.code, 'KM4100');
  assert.equal(s.vm.statementsExecuted, 4);
});

// ---- builtins -----------------------------------------------------------------------------------------

test('kmalloc(0) is ZERO_SIZE_PTR, a failed kmalloc is NULL; kfree ignores both', () => {
  const s = load('let z = kmalloc(0, GFP_KERNEL)\nlet n = kmalloc(8M, GFP_KERNEL)\nkfree(z)\nkfree(n)\nkfree(0)');
  assert.equal(runToEnd(s.vm).reason, 'end');
  assert.deepEqual(locals(s.vm), ['z=0x10:ptr', 'n=0x0:ptr']);
  assert.deepEqual(
    eventsOf(s).map((e) => e.kind),
    [EventKind.KmallocFail],
  );
});

test('pointers are direct-map kernel addresses; the per-CPU freelist is LIFO', () => {
  const s = load(
    'let a = kmalloc(100, GFP_KERNEL)\nlet b = kmalloc(100, GFP_KERNEL)\nkfree(a)\nlet c = kmalloc(120, GFP_KERNEL)',
  );
  runToEnd(s.vm);
  const [a, b, c] = s.vm.locals(0).map((v) => v.value);
  assert.equal(typeof a, 'bigint');
  assert.equal(c, a);
  assert.notEqual(b, a);
  const kmallocs = eventsOf(s, EventKind.Kmalloc);
  assert.equal(a, 0xffff888000000000n + BigInt(kmallocs[0]!.addr));
  assert.equal(b, 0xffff888000000000n + BigInt(kmallocs[1]!.addr));
});

test('large kmalloc: pages from the buddy allocator, freed by kfree', () => {
  const s = load('let big = kmalloc(20000, GFP_KERNEL)\nkfree(big)');
  runToEnd(s.vm);
  assert.deepEqual(
    eventsOf(s).map((e) => EventKind[e.kind]),
    ['PageAlloc', 'Kmalloc', 'Kfree', 'PageFree'],
  );
  assert.equal(s.machine.largeKmalloc.size, 0);
});

// ---- values -------------------------------------------------------------------------------------------

test('arithmetic in the VM follows C on 64-bit values', () => {
  const s = load(
    [
      'let seven = 7',
      'let zero = 0',
      'let a = seven / 2',
      'let b = -seven / 2',
      'let c = -seven % 2',
      'let d = 1 << (seven * 8 + 4)',
      'let e = d >> 58',
      'let f = zero && kmalloc(8, GFP_KERNEL)',
      'let g = seven || kmalloc(8, GFP_KERNEL)',
      'let p = kmalloc(64, GFP_KERNEL)',
      'let h = (p + 8) - p',
      'let k = p + 8 > p',
      'let m = p == p && p != 0',
      'let n = ~zero',
      'let o = !seven',
      'let r = 2 * seven + 4 * 5 ^ 1',
      'let s = (p & 0xfff) < 4K',
      'let t = seven - 10 < 0',
      'let u = -(1 << 60)',
      'let v = seven * 0 - 0',
    ].join('\n'),
  );
  assert.equal(runToEnd(s.vm).reason, 'end');
  const values = Object.fromEntries(s.vm.locals(0).map((v) => [v.name, formatValue(v.value)]));
  assert.deepEqual(
    { ...values, p: undefined },
    {
      seven: '7',
      zero: '0',
      a: '3',
      b: '-3',
      c: '-1',
      d: '0x1000000000000000',
      e: '4',
      f: '0',
      g: '1',
      p: undefined,
      h: '8',
      k: '1',
      m: '1',
      n: '-1',
      o: '0',
      r: '35',
      s: '1',
      t: '1',
      u: '0xf000000000000000',
      v: '0',
    },
  );
  // Short-circuit: the two kmallocs behind && / || never ran.
  assert.equal(eventsOf(s, EventKind.Kmalloc).length, 1);
});

test('locals: outer scope first, declaration order, only what is declared and in scope', () => {
  const s = load(EXAMPLE, EXAMPLE_PATH);
  const at = (line: number): string[] => {
    s.vm.run({ maxInstructions: BIG, breakAtLine: (l) => l === line });
    return s.vm.locals(0).map((v) => `${v.name}:${v.kind}`);
  };
  assert.deepEqual(at(7), ['first:ptr']);
  assert.deepEqual(at(11), ['first:ptr', 'second:ptr', 'again:ptr']);
  assert.deepEqual(at(12), ['first:ptr', 'second:ptr', 'again:ptr']);
  assert.deepEqual(at(17), ['first:ptr', 'second:ptr', 'again:ptr', 'i:int', 'buf:ptr']);
  assert.equal(s.vm.locals(0)[3]!.value, 0);
  assert.deepEqual(at(17), ['first:ptr', 'second:ptr', 'again:ptr', 'i:int', 'buf:ptr']);
  assert.equal(s.vm.locals(0)[3]!.value, 1);
  assert.deepEqual(at(20), ['first:ptr', 'second:ptr', 'again:ptr']);
  assert.deepEqual(at(21), ['first:ptr', 'second:ptr', 'again:ptr', 'big:ptr']);
  assert.deepEqual(s.vm.locals(1), []);

  const shadow = load('let x = 1\nrepeat 1 {\n  let x = 2\n  kfree(0)\n}');
  shadow.vm.run({ maxInstructions: BIG, breakAtLine: (l) => l === 3 });
  assert.deepEqual(locals(shadow.vm), ['x=1:int', 'x=2:int']);
});

test('frames: one frame named after the file, on the current statement or loop header', () => {
  const s = load(EXAMPLE, 'some/dir/slab-growth.kmem');
  s.vm.run({ maxInstructions: BIG, breakAtLine: (l) => l === 15 });
  assert.deepEqual(s.vm.frames(), [
    { name: 'slab-growth', file: 'some/dir/slab-growth.kmem', line: 15, character: 0, endLine: 15, endCharacter: 13 },
  ]);
  const win = load('let p = 1', 'C:\\scenarios\\rx.path.kmem');
  assert.equal(win.vm.frames()[0]!.name, 'rx.path');
});

test('determinism: the same source gives the same events, bit for bit', () => {
  const a = load(EXAMPLE, EXAMPLE_PATH);
  const b = load(EXAMPLE, EXAMPLE_PATH);
  runToEnd(a.vm);
  b.vm.run({ maxInstructions: 7, stepStatements: 5 });
  while (b.vm.run({ maxInstructions: 3 }).reason !== 'end');
  assert.ok(eventsOf(a).length > 60);
  assert.deepEqual(eventsOf(a), eventsOf(b));
  assert.deepEqual(a.vm.locals(0), b.vm.locals(0));
});

test('saveState/restoreState: replaying from a checkpoint of the VM gives the same values', () => {
  const s = load('let x = 0\nrepeat 5 {\n  x = x + 1\n}\nlet y = x * 2');
  s.vm.run({ maxInstructions: BIG, stepStatements: 4 });
  const state = s.vm.saveState();
  runToEnd(s.vm);
  const end = locals(s.vm);
  s.vm.restoreState(state);
  assert.equal(s.vm.status, 'paused');
  runToEnd(s.vm);
  assert.deepEqual(locals(s.vm), end);
  assert.deepEqual(end, ['x=5:int', 'y=10:int']);
});

test('bytecode: constants are folded, loops have one header statement twice', () => {
  const s = load('let p = kmalloc(8, GFP_ATOMIC | __GFP_ZERO)\nrepeat 2 { kfree(p) }');
  const listing = disassemble(s.program);
  assert.match(listing, /PushInt 2336\n/); // GFP_ATOMIC | __GFP_ZERO = 0x920
  assert.equal(listing.match(/Stmt 1 {2}; line 2/g)?.length, 2);
  assert.deepEqual(s.program.executableLines, [0, 1]);
});
