/*
 * The golden runner of the language's fixtures: every diagnostic code has a script in test/fixtures/codes
 * whose header says the code, severity and exact range it must produce (`# expect error KM2003 at 3:9-3:15`);
 * then error recovery (several errors in one file, each reported once) and the larger fixtures in
 * test/fixtures/diagnostics, which mark each expected diagnostic on its line (`# expect: KM2001 @6-11`).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

import { DIAGNOSTIC_CODES, Diagnostic, Range } from '../../engine/lang/diagnostics';
import { diagnose } from '../../engine/lang/service';
import { loadScenario } from '../../engine/scenario';
import { RESERVED_WORDS } from '../../engine/lang/tokens';
import { fileIncludeHost } from '../../extension/shared/includes';

const FIXTURES = resolve(__dirname, '..', 'fixtures', 'diagnostics');

/**
 * One fixture per diagnostic code in test/fixtures/codes (more for a code that needs several): a script whose
 * header says what it must produce, in the form the golden runner below reads:
 *
 *   # KM2003: unknown function                       (what the code means: documentation only)
 *   # max-steps 5                                    (optional: the run's statement limit)
 *   # expect error KM2003 at 3:9-3:15                (the checker's diagnostic and its range, 1-based lines
 *   # expect warning KM2024 at 3:23-3:33              and columns, end exclusive; `runtime error` when the
 *   # expect runtime error KM4002 at 4:1-4:9          script loads and the run stops on it)
 *
 * "(among others)" after the range allows other diagnostics beside it; otherwise the code is the only one.
 */
interface Fixture {
  readonly file: string;
  readonly source: string;
  readonly kind: 'error' | 'warning' | 'runtime error';
  readonly code: string;
  readonly range: Range;
  readonly alone: boolean;
  readonly maxSteps?: number;
}

const CODE_FIXTURES = resolve(__dirname, '..', 'fixtures', 'codes');

function fixtureOf(file: string): Fixture {
  const source = readFileSync(resolve(CODE_FIXTURES, file), 'utf8');
  const m = /^# expect (error|warning|runtime error) (KM\d{4}) at (\d+):(\d+)-(\d+):(\d+)( \(among others\))?$/m.exec(
    source,
  );
  assert.ok(m, `${file}: no "# expect <kind> KMxxxx at L:C-L:C" line`);
  const steps = /^# max-steps (\d+)$/m.exec(source);
  return {
    file,
    source,
    kind: m[1] as Fixture['kind'],
    code: m[2]!,
    range: {
      start: { line: Number(m[3]) - 1, character: Number(m[4]) - 1 },
      end: { line: Number(m[5]) - 1, character: Number(m[6]) - 1 },
    },
    alone: m[7] === undefined,
    ...(steps ? { maxSteps: Number(steps[1]) } : {}),
  };
}

const FIXTURES_BY_CODE = readdirSync(CODE_FIXTURES)
  .filter((f) => f.endsWith('.kmem'))
  .sort()
  .map(fixtureOf);

/** Includes resolve under the fixtures' folder, as they would in a workspace opened there. */
const FIXTURE_INCLUDES = fileIncludeHost(CODE_FIXTURES);

function diagnosticsOf(f: Fixture): Diagnostic[] {
  const fileName = resolve(CODE_FIXTURES, f.file);
  if (f.kind !== 'runtime error') {
    return diagnose(f.source, fileName, undefined, FIXTURE_INCLUDES);
  }
  const { diagnostics, scenario } = loadScenario(f.source, fileName, undefined, {}, FIXTURE_INCLUDES);
  assert.deepEqual(diagnostics, [], `${f.code}: the script must load`);
  const vm = scenario!.vm;
  if (f.maxSteps !== undefined) vm.statementLimit = f.maxSteps;
  let stop = vm.run({ maxInstructions: 1_000_000 });
  for (let slices = 0; stop.reason === 'budget' && slices < 100; slices++) {
    stop = vm.run({ maxInstructions: 1_000_000 });
  }
  assert.equal(stop.reason, 'error', `${f.code}: the run must stop on an error`);
  assert.equal(vm.status, 'error');
  assert.deepEqual(stop.error, vm.error);
  return [{ ...vm.error!, severity: 'error' }];
}

for (const f of FIXTURES_BY_CODE) {
  test(`${f.file}: ${f.code} (${DIAGNOSTIC_CODES[f.code]}), its range and severity`, () => {
    const found = diagnosticsOf(f);
    const ours = found.filter((d) => d.code === f.code);
    assert.equal(ours.length, 1, `${f.code} once in ${JSON.stringify(found)}`);
    assert.deepEqual(ours[0]!.range, f.range);
    assert.equal(ours[0]!.severity, f.kind === 'warning' ? 'warning' : 'error');
    assert.ok(ours[0]!.message.length > 0);
    if (f.alone) {
      assert.deepEqual(
        found.map((d) => d.code),
        [f.code],
      );
    }
  });
}

test('every code in the table has a fixture, and every fixture a code in the table', () => {
  assert.deepEqual([...new Set(FIXTURES_BY_CODE.map((f) => f.code))].sort(), Object.keys(DIAGNOSTIC_CODES).sort());
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
  const words = ['cache', 'irq', 'process', 'store', 'atomic'];
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
