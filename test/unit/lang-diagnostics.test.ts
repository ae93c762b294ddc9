/*
 * Every diagnostic code the language defines, each with a script that raises it and the exact range it
 * must point at; then error recovery (several errors in one file, each reported once) and the fixture
 * files in test/fixtures/diagnostics, which carry their expectations as `# expect:` comments.
 *
 * Cases mark the expected range inside the source with ⟦ and ⟧ (removed before the script is analysed).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

import { DIAGNOSTIC_CODES, Diagnostic, Range } from '../../engine/lang/diagnostics';
import { diagnose } from '../../engine/lang/service';
import { loadScenario } from '../../engine/scenario';
import { RESERVED_WORDS } from '../../engine/lang/tokens';

const FIXTURES = resolve(__dirname, '..', 'fixtures', 'diagnostics');

/** Removes the ⟦ ⟧ markers; returns the clean source and the marked range. */
function marked(text: string): { source: string; range: Range } {
  let source = '';
  let line = 0;
  let character = 0;
  let start: Range['start'] | undefined;
  let end: Range['end'] | undefined;
  for (const ch of text) {
    if (ch === '⟦') {
      start = { line, character };
      continue;
    }
    if (ch === '⟧') {
      end = { line, character };
      continue;
    }
    source += ch;
    if (ch === '\n') {
      line++;
      character = 0;
    } else {
      character += ch.length;
    }
  }
  assert.ok(start && end, `no range marked in ${text}`);
  return { source, range: { start, end } };
}

interface Case {
  readonly code: string;
  readonly text: string;
  /** Runtime errors: run the loaded scenario instead of diagnosing. */
  readonly runtime?: boolean;
  /** Only this code expected (default); false when other diagnostics may come along. */
  readonly alone?: boolean;
  /** A warning, not an error. */
  readonly warning?: boolean;
}

const CASES: readonly Case[] = [
  { code: 'KM1001', text: 'let x = 5 ⟦$$⟧ 3' },
  { code: 'KM1002', text: 'let s = ⟦"abc⟧\nlet y = 1' },
  { code: 'KM1003', text: 'let x = (1 + 2⟦⟧\nlet y = 1' },
  { code: 'KM1004', text: 'let x = ⟦12abc⟧' },
  { code: 'KM1005', text: 'let x = 1\n⟦}⟧\nlet y = 2' },
  { code: 'KM1006', text: 'let x = 1 + ⟦*⟧ 2' },
  { code: 'KM1007', text: `let x = ${'('.repeat(200)}⟦(⟧1${')'.repeat(201)}` },
  { code: 'KM1008', text: 'let x = 1 # "\\q" in a comment is fine\nx = "a⟦\\q⟧"', alone: false },
  { code: 'KM1009', text: '⟦kmalloc(8, GFP_KERNEL)⟧ = 3' },
  { code: 'KM1010', text: 'if 1 {\n  kfree(0)\n}\n⟦else⟧ {\n  kfree(0)\n}' },
  { code: 'KM2001', text: 'let first = 1\nkfree(⟦frist⟧)' },
  { code: 'KM2002', text: 'let p = 1\nlet ⟦p⟧ = 2' },
  { code: 'KM2003', text: 'let p = ⟦kmallc⟧(8, GFP_KERNEL)' },
  { code: 'KM2004', text: 'let p = ⟦kmalloc(8)⟧' },
  { code: 'KM2005', text: '⟦cache⟧ 1 {\n  kfree(0)\n}' },
  { code: 'KM2006', text: 'let p = 1\n⟦machine⟧ { cpus 4 }' },
  { code: 'KM2007', text: 'machine { ⟦memry⟧ 256M; cpus 2 }' },
  { code: 'KM2008', text: 'machine { memory ⟦kmalloc(8, GFP_KERNEL)⟧ }' },
  { code: 'KM2009', text: 'machine { cpus 2; ⟦cpus 4⟧ }' },
  { code: 'KM2010', text: '⟦GFP_KERNEL⟧ = 3' },
  { code: 'KM2011', text: 'let f = ⟦kfree⟧' },
  { code: 'KM2012', text: 'let p = kmalloc(8, GFP_KERNEL)\nlet q = ⟦kfree(p)⟧' },
  { code: 'KM2013', text: 'let p = 1\n⟦p == 2⟧' },
  { code: 'KM2014', text: 'let s = ⟦"hello"⟧' },
  { code: 'KM2015', text: 'for i in 0..4 {\n  ⟦i⟧ = 2\n}' },
  { code: 'KM2016', text: 'let p = 1\n⟦p⟧(2)' },
  { code: 'KM3001', text: 'machine { ⟦memory 8M⟧; cpus 2 }' },
  { code: 'KM3002', text: 'machine { ⟦memory 16M + 1⟧ }' },
  { code: 'KM3003', text: 'machine {\n  memory 256M\n  ⟦cpus 0⟧\n}' },
  { code: 'KM3004', text: 'machine {\n  ⟦kfence -5⟧\n}' },
  { code: 'KM3005', text: 'machine {\n  ⟦seed -1⟧\n}' },
  { code: 'KM4001', text: 'let p = 0xffff888000000000 + 512M\n⟦kfree(p)⟧', runtime: true },
  { code: 'KM4002', text: 'let p = kmalloc(64, GFP_KERNEL)\nkfree(p)\n⟦kfree(p)⟧', runtime: true },
  { code: 'KM4003', text: 'let p = kmalloc(64, GFP_KERNEL)\n⟦kfree(p + 8)⟧', runtime: true },
  { code: 'KM4005', text: 'let p = alloc_pages(3, GFP_KERNEL)\nfree_pages(p, 3)\n⟦free_pages(p, 3)⟧', runtime: true },
  { code: 'KM4006', text: 'let p = 5\n⟦free_pages(p, 0)⟧', runtime: true },
  {
    code: 'KM4008',
    text: 'machine { memory 16M }\nrepeat 10000 {\n  let p = ⟦alloc_pages(0, GFP_KERNEL)⟧\n}',
    runtime: true,
  },
  {
    code: 'KM4009',
    text: 'machine { memory 16M }\nrepeat 10000 {\n  let p = ⟦alloc_pages(0, GFP_NOFS)⟧\n}',
    runtime: true,
  },
  { code: 'KM4010', text: 'let p = alloc_pages(1, GFP_KERNEL | __GFP_COMP)\n⟦split_page(p, 1)⟧', runtime: true },
  { code: 'KM4011', text: 'let v = vmalloc(4096)\n⟦vfree(v + 8)⟧', runtime: true },
  { code: 'KM4012', text: 'let t = spawn("t")\n⟦kstack_use(t, 20000)⟧', runtime: true },
  {
    code: 'KM4013',
    text: 'let t = spawn("t")\nlet v = vmalloc(4096)\nvfree(v)\n⟦ktouch(t, v, PROT_READ)⟧',
    runtime: true,
  },
  { code: 'KM4220', text: 'let t = spawn("t")\nlet a = ⟦mmap(t, 0x400001, 4096, PROT_READ)⟧', runtime: true },
  {
    code: 'KM4221',
    text: 'let t = spawn("t")\nmmap(t, 0x400000, 4096, PROT_READ)\nlet a = ⟦mmap(t, 0x400000, 4096, PROT_READ)⟧',
    runtime: true,
  },
  { code: 'KM4222', text: 'let t = spawn("t")\n⟦mprotect(t, 0x400000, 4096, PROT_READ)⟧', runtime: true },
  { code: 'KM4223', text: '⟦exit(7)⟧', runtime: true },
  { code: 'KM4225', text: 'let t = spawn("t")\nlet a = ⟦mmap(t, 0x1000, 4096, PROT_READ)⟧', runtime: true },
  { code: 'KM2017', text: 'let n = 1\nlet t = spawn(⟦n⟧)' },
  { code: 'KM2018', text: 'repeat 1 {\n  ⟦proc p()⟧ {\n  }\n}' },
  { code: 'KM2019', text: 'proc p(a) {\n  if a {\n    return 1\n  }\n  ⟦return⟧\n}' },
  { code: 'KM2020', text: '⟦return 1⟧' },
  { code: 'KM2021', text: 'let c = kmem_cache_create("x", 64, 0, 0, ⟦nope⟧)' },
  { code: 'KM2022', text: 'expect ⟦ubsan⟧ {\n  let x = 1\n}' },
  { code: 'KM2023', text: '⟦print 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17⟧' },
  { code: 'KM2024', text: 'on irq {\n  let p = kmalloc(64, ⟦GFP_KERNEL⟧)\n}', warning: true },
  { code: 'KM4230', text: 'let c = ⟦kmem_cache_create("tiny", 4, 0, 0)⟧', runtime: true },
  { code: 'KM4231', text: 'let c = 5000\nlet p = ⟦kmem_cache_alloc(c, GFP_KERNEL)⟧', runtime: true },
  { code: 'KM4232', text: 'let h = 3\nlet p = ⟦heap_alloc(h, 8)⟧', runtime: true },
  { code: 'KM6001', text: 'let h = ⟦heap_create(HEAP_TLSF, 100)⟧', runtime: true },
  {
    code: 'KM6002',
    text: 'let h = heap_create(HEAP_TLSF, 64K)\nlet p = heap_alloc(h, 64)\n⟦heap_free(h, p + 4)⟧',
    runtime: true,
  },
  {
    code: 'KM6004',
    text: 'let h = heap_create(HEAP_TLSF, 64K)\nlet p = heap_alloc(h, 64)\n⟦heap_free(h, p + 8)⟧',
    runtime: true,
  },
  {
    code: 'KM6003',
    text: 'let h = heap_create(HEAP_TLSF, 64K)\nlet p = heap_alloc(h, 64)\nheap_free(h, p)\n⟦heap_free(h, p)⟧',
    runtime: true,
  },
  { code: 'KM6102', text: 'let h = ⟦heap_create(9, 4K)⟧', runtime: true },
  { code: 'KM4100', text: 'repeat 10 {\n  ⟦let p = 1⟧\n}', runtime: true },
  { code: 'KM4101', text: 'let n = -1\nlet p = ⟦kmalloc(n, GFP_KERNEL)⟧', runtime: true },
  { code: 'KM4102', text: 'let p = 5\n⟦kfree(p)⟧', runtime: true },
  { code: 'KM4103', text: 'let z = 0\nlet x = 10 ⟦/⟧ z', runtime: true },
  { code: 'KM4104', text: 'let n = 64\nlet x = 1 ⟦<<⟧ n', runtime: true },
  { code: 'KM4105', text: 'let n = 2\nrepeat ⟦n - 3⟧ {\n  let p = 1\n}', runtime: true },
  { code: 'KM4106', text: 'let p = ⟦kmalloc(8, -1)⟧', runtime: true },
  { code: 'KM4107', text: 'let p = ⟦alloc_pages(-1, GFP_KERNEL)⟧', runtime: true },
  { code: 'KM4109', text: 'machine { cpus 2 }\non cpu ⟦5⟧ {\n  let p = 1\n}', runtime: true },
  { code: 'KM5001', text: 'let x = 1\nexpect ⟦x == 2⟧', runtime: true },
  {
    code: 'KM5002',
    text: 'machine { slab_debug "FZPU" }\nlet p = kmalloc(8, GFP_KERNEL)\n⟦expect slub_debug⟧ {\n  kfree(p)\n}',
    runtime: true,
  },
  { code: 'KM4108', text: 'proc f(n) {\n  ⟦f(n)⟧\n}\nf(0)', runtime: true },
  { code: 'KM4120', text: 'let v = ⟦read64(0x1000)⟧', runtime: true },
  {
    code: 'KM4121',
    text: 'let c = kmem_cache_create("c", 64, 0, 0)\nlet p = kmalloc(8, GFP_KERNEL)\nlet n = ⟦kmem_cache_alloc_bulk(c, GFP_KERNEL, 2, p)⟧',
    runtime: true,
  },
  { code: 'KM4122', text: 'let n = ⟦kmemleak_scan()⟧', runtime: true },
  { code: 'KM4125', text: 'spin_lock(1)\n⟦spin_lock(1)⟧', runtime: true },
  { code: 'KM4126', text: '⟦spin_unlock(7)⟧', runtime: true },
  { code: 'KM4127', text: 'let r = ⟦rand(0)⟧', runtime: true },
  { code: 'KM4123', text: '⟦msleep(-1)⟧', runtime: true },
  { code: 'KM4124', text: '⟦kmemleak_ignore(5)⟧', runtime: true },
];

function diagnosticsOf(c: Case, source: string): Diagnostic[] {
  if (!c.runtime) {
    return diagnose(source, 'case.kmem');
  }
  const { diagnostics, scenario } = loadScenario(source, 'case.kmem');
  assert.deepEqual(diagnostics, [], `${c.code}: the script must load`);
  const vm = scenario!.vm;
  if (c.code === 'KM4100') {
    vm.statementLimit = 5;
  }
  const stop = vm.run({ maxInstructions: 1_000_000 });
  assert.equal(stop.reason, 'error', `${c.code}: the run must stop on an error`);
  assert.equal(vm.status, 'error');
  assert.deepEqual(stop.error, vm.error);
  return [{ ...vm.error!, severity: 'error' }];
}

for (const c of CASES) {
  test(`${c.code} (${DIAGNOSTIC_CODES[c.code]}): code and range`, () => {
    const { source, range } = marked(c.text);
    const found = diagnosticsOf(c, source);
    const ours = found.filter((d) => d.code === c.code);
    assert.equal(ours.length, 1, `${c.code} once in ${JSON.stringify(found)}`);
    assert.deepEqual(ours[0]!.range, range);
    assert.equal(ours[0]!.severity, c.warning ? 'warning' : 'error');
    assert.ok(ours[0]!.message.length > 0);
    if (c.alone !== false) {
      assert.deepEqual(
        found.map((d) => d.code),
        [c.code],
      );
    }
  });
}

test('every code in the table has a case, and every case a code in the table', () => {
  assert.deepEqual([...new Set(CASES.map((c) => c.code))].sort(), Object.keys(DIAGNOSTIC_CODES).sort());
});

test('recovery: several errors in one file, each reported once', () => {
  const source = [
    'machine { memory 256M; cpus 2 }',
    'let a = kmalloc(64, GFP_KERNEL',
    'let b = 3 $ 4',
    'kfree(a)',
    'repeat 3 x {',
    '  let c = 1 +',
    '  kfree(c)',
    '}',
    'if a == b {',
    '  kfree(b)',
    '} else {',
    '  kfree(a)',
    '}',
    'let d = kmalloc(1)',
    'kfree(a) kfree(b)',
    'let e = undefined_name',
    'let e = 2',
    'kfree(e)',
  ].join('\n');
  const found = diagnose(source, 'recovery.kmem').map(
    (d) => `${d.range.start.line}:${d.range.start.character} ${d.code}`,
  );
  assert.deepEqual(found, [
    '1:30 KM1003', // expected ')' at the end of line 2
    '2:10 KM1001', // '$'
    '4:9 KM1003', // expected '{' after the repeat count: the whole loop is skipped
    '13:8 KM2004', // kmalloc(1)
    '14:9 KM1003', // two statements on one line
    '15:8 KM2001', // undefined_name
    '16:4 KM2002', // e declared twice
  ]);
});

test('a broken let still declares its name: later uses raise nothing new', () => {
  const found = diagnose('let p = kmalloc(8,\nkfree(p)\nlet q = p', 'x.kmem');
  assert.equal(found.length, 1, JSON.stringify(found));
  const again = diagnose('let p = \nkfree(p)', 'x.kmem');
  assert.deepEqual(
    again.map((d) => d.code),
    ['KM1006'],
  );
});

test('scopes: block-local lets, shadowing, loop variables', () => {
  assert.deepEqual(diagnose('repeat 2 { let x = 1 }\nrepeat 2 { let x = 2 }', 's.kmem'), []);
  assert.deepEqual(diagnose('let x = 1\nrepeat 2 { let x = 2\n kfree(x) }', 's.kmem'), []);
  assert.deepEqual(
    diagnose('repeat 2 { let x = 1 }\nkfree(x)', 's.kmem').map((d) => d.code),
    ['KM2001'],
  );
  assert.deepEqual(
    diagnose('for i in 0..2 { let p = i }\nlet q = i', 's.kmem').map((d) => d.code),
    ['KM2001'],
  );
  assert.deepEqual(
    diagnose('for i in 0..2 { let i = 3 }', 's.kmem').map((d) => d.code),
    ['KM2002'],
  );
  // The initialiser sees the outer x, not the one being declared.
  assert.deepEqual(diagnose('let x = 1\nrepeat 1 { let x = x + 1 }', 's.kmem'), []);
  assert.deepEqual(
    diagnose('let y = y', 's.kmem').map((d) => d.code),
    ['KM2001'],
  );
});

test('reserved words: where a statement starts, as names, and as values', () => {
  const words = ['cache', 'irq', 'process', 'push', 'atomic'];
  for (const word of words) {
    const found = diagnose(`${word} x {\n  kfree(0)\n}\nlet y = 1`, 'r.kmem');
    assert.deepEqual(
      found.map((d) => [d.code, d.range.start.line]),
      [['KM2005', 0]],
      word,
    );
    assert.match(found[0]!.message, /reserved for a future statement/);
    assert.deepEqual(
      diagnose(`let ${word} = 1`, 'r.kmem').map((d) => d.code),
      ['KM2005'],
    );
  }
  assert.deepEqual(
    diagnose('let t = true', 'r.kmem').map((d) => d.code),
    ['KM2005'],
  );
});

test('the machine block must be first, once, at the top level', () => {
  assert.deepEqual(diagnose('# comment\n\nmachine { cpus 4 }\nlet p = 1', 'm.kmem'), []);
  assert.deepEqual(
    diagnose('machine { cpus 4 }\nmachine { cpus 2 }', 'm.kmem').map((d) => d.code),
    ['KM2006'],
  );
  assert.deepEqual(
    diagnose('machine { }', 'm.kmem').map((d) => d.code),
    [],
  );
  assert.deepEqual(
    diagnose('machine { memory 64G; cpus 256 }', 'm.kmem').map((d) => d.code),
    [],
  );
  assert.deepEqual(
    diagnose('machine { memory 65G; cpus 257 }', 'm.kmem').map((d) => d.code),
    ['KM3001', 'KM3003'],
  );
});

test('configuration errors from the host defaults point at the machine block or the start of the file', () => {
  const { diagnostics, scenario } = loadScenario('let p = 1', 'd.kmem', { cpus: 0 });
  assert.equal(scenario, undefined);
  assert.deepEqual(
    diagnostics.map((d) => [d.code, d.range]),
    [['KM3003', { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }]],
  );
  const inBlock = loadScenario('machine { memory 64M }', 'd.kmem', { cpus: 999 });
  assert.deepEqual(
    inBlock.diagnostics.map((d) => [d.code, d.range.start, d.range.end]),
    [['KM3003', { line: 0, character: 0 }, { line: 0, character: 7 }]],
  );
  // The script's entry wins over the default.
  assert.equal(loadScenario('machine { cpus 4 }', 'd.kmem', { cpus: 0 }).scenario?.config.cpus, 4);
  assert.equal(loadScenario('let p = 1', 'd.kmem', { memoryBytes: 64 << 20 }).scenario?.config.memoryBytes, 64 << 20);
});

// ---- fixtures -------------------------------------------------------------------------------------

/**
 * `# expect: KM2001` on a line: a diagnostic with that code starts on this line; `# expect: KM2001 @8-10`
 * also gives its start and end characters (on that line). The file must raise exactly the listed ones.
 */
function expectationsOf(source: string): string[] {
  const out: string[] = [];
  source.split(/\r\n|\n|\r/).forEach((text, line) => {
    for (const m of text.matchAll(/#.*?expect:\s*(KM\d{4})(?:\s*@(\d+)-(\d+))?/g)) {
      out.push(m[2] === undefined ? `${line} ${m[1]}` : `${line} ${m[1]} @${m[2]}-${m[3]}`);
    }
  });
  return out.sort();
}

for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('.kmem'))) {
  test(`fixture ${file}`, () => {
    const source = readFileSync(resolve(FIXTURES, file), 'utf8');
    const expected = expectationsOf(source);
    const withColumns = new Set(expected.filter((e) => e.includes('@')).map((e) => e.split(' @')[0]));
    const found = diagnose(source, file)
      .map((d) => {
        const key = `${d.range.start.line} ${d.code}`;
        return withColumns.has(key) && d.range.end.line === d.range.start.line
          ? `${key} @${d.range.start.character}-${d.range.end.character}`
          : key;
      })
      .sort();
    assert.deepEqual(found, expected);
  });
}

test('docs/language.md lists every code and every reserved word', () => {
  const docs = readFileSync(resolve(__dirname, '..', '..', 'docs', 'language.md'), 'utf8');
  const rows = new Set([...docs.matchAll(/^\| (KM\d{4}) \|/gm)].map((m) => m[1]));
  assert.deepEqual([...rows].sort(), Object.keys(DIAGNOSTIC_CODES).sort());
  for (const word of RESERVED_WORDS) {
    assert.ok(docs.includes(`\`${word}\``), word);
  }
});
