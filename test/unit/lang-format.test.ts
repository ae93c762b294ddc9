/*
 * The formatter (engine/lang/format.ts): each layout rule on small before/after cases, every example and
 * every script of docs/language.md, refusal on syntax errors, the editor's edits, and properties over
 * random valid scripts (idempotent, same syntax tree modulo ranges, same comments, tidy lines) and over
 * token soup (never throws; formats only what parses cleanly).
 *
 * Seeded: the seed is printed as a test diagnostic and can be changed with FC_SEED=<n>.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';

import { MACHINE_ENTRIES, parse } from '../../engine/lang/parser';
import { lex } from '../../engine/lang/lexer';
import { TokenKind } from '../../engine/lang/tokens';
import { FORMAT_WIDTH, TextEdit, formatEdits, formatScript } from '../../engine/lang/format';

const FC_SEED = Number(process.env.FC_SEED ?? 4242);
const ROOT = resolve(__dirname, '..', '..');
const EXAMPLES = readdirSync(resolve(ROOT, 'examples'))
  .filter((f) => f.endsWith('.kmem'))
  .sort();

/** Examples the formatter changes (none: they were written in the canonical style). */
const EXAMPLES_THAT_CHANGE: readonly string[] = [];

// ---- helpers ------------------------------------------------------------------------------------------

/** The formatted text; fails when the formatter refuses. */
function fmt(source: string): string {
  const r = formatScript(source);
  assert.ok(r.ok, `refused: ${r.ok ? '' : r.errors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
  return r.text;
}

/** `before` formats to `after`, and `after` is a fixed point. */
function formatsTo(before: string, after: string): void {
  assert.equal(fmt(before), after);
  const again = formatScript(after);
  assert.ok(again.ok);
  assert.equal(again.text, after);
  assert.equal(again.changed, false);
}

/** A syntax tree without its ranges (range, head, opRange, keyword). */
function stripRanges(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripRanges);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k !== 'range' && k !== 'head' && k !== 'opRange' && k !== 'keyword' && k !== 'pathRange') {
      out[k] = stripRanges(v);
    }
  }
  return out;
}

/** The comments of a script: blank out every token, then each "#" left starts one (trailing blanks cut). */
function commentsOf(source: string): string[] {
  return commentMatches(source).map((m) => m[0].trimEnd());
}

function commentMatches(source: string): RegExpExecArray[] {
  let text = source;
  for (const t of lex(source).tokens) {
    if (t.kind === TokenKind.Newline || t.kind === TokenKind.Eof) continue;
    text = text.slice(0, t.start) + ' '.repeat(t.end - t.start) + text.slice(t.end);
  }
  return [...text.matchAll(/#[^\r\n]*/g)];
}

/** The script without its comments (their line breaks stay). */
function withoutComments(source: string): string {
  let out = source;
  for (const m of commentMatches(source).reverse()) out = out.slice(0, m.index) + out.slice(m.index + m[0].length);
  return out;
}

/** The invariants of one formatting: refusal or a tidy, idempotent, meaning-preserving text. */
function checkFormat(source: string): string {
  const parsed = parse(source);
  const r = formatScript(source);
  if (!r.ok) {
    assert.ok(r.errors.length > 0);
    assert.deepEqual(r.errors, parsed.diagnostics);
    assert.deepEqual(formatEdits(source), []);
    return source;
  }
  assert.deepEqual(parsed.diagnostics, []);
  const out = parse(r.text);
  assert.deepEqual(out.diagnostics, [], `formatted text does not parse:\n${r.text}`);
  assert.deepEqual(stripRanges(out.script), stripRanges(parsed.script));
  assert.deepEqual(commentsOf(r.text), commentsOf(source));
  assert.equal(r.changed, r.text !== source);
  const again = formatScript(r.text);
  assert.ok(again.ok);
  assert.equal(again.text, r.text, `not idempotent:\n${r.text}`);
  assert.equal(again.changed, false);
  const body = r.text.replace(/^\ufeff/, '').replace(/\r\n?/g, '\n');
  if (body !== '') {
    assert.match(body, /[^\n]\n$/, 'exactly one final line break');
  }
  for (const line of body.split('\n')) {
    assert.doesNotMatch(line, /[ \t]$/, `trailing whitespace: ${JSON.stringify(line)}`);
    if (!line.trimStart().startsWith('#')) {
      assert.match(line, /^( {2})*(?! )/, `indentation not a multiple of 2: ${JSON.stringify(line)}`);
      assert.doesNotMatch(line, /^\s*\t/, 'tab in indentation');
    }
  }
  assert.doesNotMatch(body, /\n\n\n/, 'two blank lines in a row');
  assert.equal(applyEdits(source, formatEdits(source)), r.text);
  return r.text;
}

/** Applies LSP-style edits (positions in UTF-16 code units, line breaks as the lexer's). */
function applyEdits(source: string, edits: readonly TextEdit[]): string {
  const starts = [0];
  for (const m of source.matchAll(/\r\n|\r|\n/g)) starts.push(m.index + m[0].length);
  const offset = (p: { line: number; character: number }): number => starts[p.line]! + p.character;
  let out = source;
  let previousStart = Infinity;
  for (const e of [...edits].reverse()) {
    const from = offset(e.range.start);
    const to = offset(e.range.end);
    assert.ok(from <= to && to <= previousStart, 'edits overlap or are out of order');
    previousStart = from;
    out = out.slice(0, from) + e.newText + out.slice(to);
  }
  return out;
}

// ---- layout rules -------------------------------------------------------------------------------------

test('blocks: 2 spaces per level, one statement per line, "}" on its own line', () => {
  formatsTo(
    'repeat 3 { let p = kmalloc(8, GFP_KERNEL); kfree(p) }\n',
    'repeat 3 {\n  let p = kmalloc(8, GFP_KERNEL)\n  kfree(p)\n}\n',
  );
  formatsTo(
    'for i in 0..8 {\n      while i < 4 {\ni = i + 1\n   }\n    }\n',
    'for i in 0..8 {\n  while i < 4 {\n    i = i + 1\n  }\n}\n',
  );
  formatsTo('a(); b() ;; c()\n', 'a()\nb()\nc()\n');
  formatsTo(
    'on cpu 1 { on irq { expect kasan { kfree(p) } } }\n',
    'on cpu 1 {\n  on irq {\n    expect kasan {\n      kfree(p)\n    }\n  }\n}\n',
  );
  formatsTo(
    'proc f(a,b) { return a }\nproc g() { return }\n',
    'proc f(a, b) {\n  return a\n}\nproc g() {\n  return\n}\n',
  );
});

test('if chains: "} else {" and "} else if cond {" on one line', () => {
  formatsTo(
    'if a==1 {x=1} else if b {x=2}   else{x=3}\n',
    'if a == 1 {\n  x = 1\n} else if b {\n  x = 2\n} else {\n  x = 3\n}\n',
  );
});

test('empty blocks are {} unless a comment is inside', () => {
  formatsTo('repeat 1 {\n\n}\nexpect kasan { }\n', 'repeat 1 {}\nexpect kasan {}\n');
  formatsTo('repeat 2 { # why\n}\n', 'repeat 2 {  # why\n}\n');
  formatsTo('repeat 2 {\n# why\n}\n', 'repeat 2 {\n  # why\n}\n');
});

test('spaces around binary operators, after commas, none inside parentheses or after unary operators', () => {
  formatsTo('let x=( a+b )*-c<<2\n', 'let x = (a + b) * -c << 2\n');
  formatsTo('f( a ,b,  ! c , ~ - d)\n', 'f(a, b, !c, ~-d)\n');
  formatsTo('expect a&&b||c!=d\n', 'expect a && b || c != d\n');
  formatsTo('for i in 0 .. n - 1 {}\n', 'for i in 0..n - 1 {}\n');
  formatsTo('print "a" ,x,  "b"\nlog x\n', 'print "a", x, "b"\nlog x\n');
});

test('numbers keep their spelling, strings are verbatim', () => {
  formatsTo('let a=4K+0x1000+256M+1_000+0X1fk+2g\n', 'let a = 4K + 0x1000 + 256M + 1_000 + 0X1fk + 2g\n');
  formatsTo('print   "a  #  b\\t",  "\\"q\\""\n', 'print "a  #  b\\t", "\\"q\\""\n');
});

test("the author's parentheses stay, redundant ones included", () => {
  formatsTo('let p = heap_alloc(rt, 16 + (i * 37) % 4080)\n', 'let p = heap_alloc(rt, 16 + (i * 37) % 4080)\n');
  formatsTo('let x = ((a))+(( b*c ))\n', 'let x = ((a)) + ((b * c))\n');
  formatsTo('let y = -(x) + (-x) + (f(x))\n', 'let y = -(x) + (-x) + (f(x))\n');
});

test('calls: one line, or the documented multi-line form when broken after "(" or commented', () => {
  const documented = 'let p = kmalloc(\n  4K,\n  GFP_KERNEL | __GFP_ZERO,\n)\n';
  formatsTo(documented, documented);
  formatsTo('let p = kmalloc(\n4K,\n      GFP_KERNEL | __GFP_ZERO)\n', documented);
  formatsTo('let q = f(a,\n      b,)\n', 'let q = f(a, b)\n');
  formatsTo('let p = kmalloc(4K,  # size\n  GFP_KERNEL)\n', 'let p = kmalloc(\n  4K,  # size\n  GFP_KERNEL,\n)\n');
  formatsTo(
    'let p = kmalloc(\n# size first\n4K,\nGFP_KERNEL  # flags\n)\n',
    'let p = kmalloc(\n  # size first\n  4K,\n  GFP_KERNEL,  # flags\n)\n',
  );
  formatsTo('f(a, g(\n b,\n))\n', 'f(a, g(\n  b,\n))\n');
  formatsTo('repeat 2 {\nf(\nx)\n}\n', 'repeat 2 {\n  f(\n    x,\n  )\n}\n');
  formatsTo('f(\n)\nf( )\n', 'f()\nf()\n');
});

test('a comment inside an expression ends its line; the expression goes on one level deeper', () => {
  formatsTo('let x = (a +  # c\nb)\n', 'let x = (a +  # c\n  b)\n');
  formatsTo('if (a  # c\n) {\n}\n', 'if (a  # c\n  ) {}\n');
  formatsTo('proc f(a,  # first\nb) {}\n', 'proc f(a,  # first\n  b) {}\n');
});

test('full-line comments are re-indented to their block level', () => {
  formatsTo(
    '      # top\nrepeat 3 {\n# inside\n  kfree(p)\n        # before the brace\n}\n',
    '# top\nrepeat 3 {\n  # inside\n  kfree(p)\n  # before the brace\n}\n',
  );
});

test('trailing comments keep their column when the code leaves room, else two spaces after it', () => {
  formatsTo(
    'let a = 1        # aligned\nlet bb = 22      # aligned\n',
    'let a = 1        # aligned\nlet bb = 22      # aligned\n',
  );
  formatsTo('let a=1 # tight\n', 'let a = 1  # tight\n');
  formatsTo('repeat 3 {\nkfree(p)    # moved right\n}\n', 'repeat 3 {\n  kfree(p)  # moved right\n}\n');
  formatsTo('a(); b()          # split off\n', 'a()\nb()  # split off\n');
  formatsTo('repeat 3 {  # header\n  kfree(p)\n}    # closed\n', 'repeat 3 {  # header\n  kfree(p)\n}    # closed\n');
});

test('hanging comments continue the trailing comment above them and keep their column', () => {
  const hanging = 'let eight = f(3)   # one\n                   # two\n                   # three\nfree(eight)\n';
  formatsTo(hanging, hanging);
  // The trailing comment moves right: the lines continuing it move with it.
  formatsTo('let e = ff(3,4) # one\n               # two\n', 'let e = ff(3, 4)  # one\n                 # two\n');
  // Not indented past the code: an ordinary comment at the block level.
  formatsTo('repeat 1 {\n  a()  # one\n  # two\n}\n', 'repeat 1 {\n  a()  # one\n  # two\n}\n');
});

test('blank lines: kept between statements, collapsed to one, dropped at block and file edges', () => {
  formatsTo(
    '\n\n# head\n\n\n\na()\n\n\nrepeat 1 {\n\n  b()\n\n\n  # tail\n\n}\n\n\n',
    '# head\n\na()\n\nrepeat 1 {\n  b()\n\n  # tail\n}\n',
  );
});

test('no trailing whitespace, exactly one final newline, line breaks and BOM as the source', () => {
  formatsTo('a()   \nb()\t\t', 'a()\nb()\n');
  formatsTo('a()\n\n\n\n', 'a()\n');
  assert.equal(fmt(''), '');
  assert.equal(fmt('\n\n  \n'), '');
  assert.equal(fmt('# only a comment   '), '# only a comment\n');
  assert.equal(fmt('x=1\r\ny=2   # c\r\n'), 'x = 1\r\ny = 2  # c\r\n');
  assert.equal(fmt('x=1\ry=2'), 'x = 1\ry = 2\r');
  assert.equal(fmt('\ufeffx=1 # c\n'), '\ufeffx = 1  # c\n');
  assert.equal(fmt('\ufeffx = 1  # c\n'), '\ufeffx = 1  # c\n');
});

test('the machine block: one line when short and written so, else one entry per line', () => {
  formatsTo('machine{memory 256M;cpus 2}\n', 'machine { memory 256M; cpus 2 }\n');
  formatsTo('machine { memory 256M; cpus 2; arch sv39 }\n', 'machine { memory 256M; cpus 2; arch sv39 }\n');
  formatsTo(
    'machine { memory 1G; cpus 4; kasan y; kmemleak y }\n',
    'machine {\n  memory 1G\n  cpus 4\n  kasan y\n  kmemleak y\n}\n',
  );
  const multi = 'machine {\n  kasan y\n  kasan_multi_shot y\n}\n';
  formatsTo('machine {\nkasan y;   kasan_multi_shot y\n}\n', multi);
  formatsTo('machine { memory 16M;  # small\n cpus 1 }\n', 'machine {\n  memory 16M  # small\n  cpus 1\n}\n');
  formatsTo('machine {\n  memory 1G\n\n\n  # cpus\n  cpus 4\n}\n', 'machine {\n  memory 1G\n\n  # cpus\n  cpus 4\n}\n');
  formatsTo('machine { }\n', 'machine {}\n');
  formatsTo('machine { arch x86_64 - la57 }\n', 'machine { arch x86_64-la57 }\n');
  formatsTo('machine { slab_debug "FZ,kmalloc-64" }  # debug\n', 'machine { slab_debug "FZ,kmalloc-64" }  # debug\n');
  const long = `machine { memory ${'1 + '.repeat(30)}1; cpus 2 }\n`;
  assert.ok(long.length > FORMAT_WIDTH);
  formatsTo(long, `machine {\n  memory ${'1 + '.repeat(30)}1\n  cpus 2\n}\n`);
});

test('long lines are left as they are', () => {
  const call = `f(${Array.from({ length: 40 }, (_, i) => `a${i}`).join(', ')})\n`;
  assert.ok(call.length > FORMAT_WIDTH);
  formatsTo(call, call);
});

test('checker errors do not prevent formatting', () => {
  formatsTo('let x=y\nlet x=2\nmachine{cpus 2}\nreturn 1\n', 'let x = y\nlet x = 2\nmachine { cpus 2 }\nreturn 1\n');
  formatsTo('repeat 1 { proc f() {} }\n', 'repeat 1 {\n  proc f() {}\n}\n');
});

// ---- refusal ------------------------------------------------------------------------------------------

test('scripts with syntax errors are refused with the lexer and parser diagnostics', () => {
  const cases: [string, string][] = [
    ['let x = (1\n', 'KM1003'],
    ['repeat {\n}\n', 'KM1006'],
    ['if a {\n}\nelse {\n}\n', 'KM1010'],
    ['let x = 12abc\n', 'KM1004'],
    ['print "open\n', 'KM1002'],
    ['a() $ b()\n', 'KM1001'],
    ['machine { bogus 1 }\n', 'KM2007'],
    ['x = true\n', 'KM2005'],
    ['cache x\n', 'KM2005'],
  ];
  for (const [source, code] of cases) {
    const r = formatScript(source);
    assert.equal(r.ok, false, source);
    if (r.ok) continue;
    assert.deepEqual(r.errors, parse(source).diagnostics);
    assert.ok(
      r.errors.some((e) => e.code === code),
      `${JSON.stringify(source)}: ${r.errors.map((e) => e.code)}`,
    );
    assert.deepEqual(formatEdits(source), []);
  }
});

// ---- edits --------------------------------------------------------------------------------------------

test('formatEdits: applied, they give the formatted text; none when it is formatted already', () => {
  const source = 'a( 1 )\nb()\nc()\nrepeat 2 {kfree(p)}\nd()  \n';
  const edits = formatEdits(source);
  assert.equal(applyEdits(source, edits), fmt(source));
  assert.equal(edits.length, 2, JSON.stringify(edits)); // lines 0 and 3..4: b() and c() stay
  assert.deepEqual(edits[0], {
    range: { start: { line: 0, character: 0 }, end: { line: 1, character: 0 } },
    newText: 'a(1)\n',
  });
  assert.deepEqual(formatEdits(fmt(source)), []);
  const crlf = 'x=1\r\ny = 2\r\nz=3';
  assert.equal(applyEdits(crlf, formatEdits(crlf)), 'x = 1\r\ny = 2\r\nz = 3\r\n');
});

// ---- examples and docs --------------------------------------------------------------------------------

test('every example formats idempotently to the same syntax tree and comments', () => {
  assert.ok(EXAMPLES.length > 0);
  for (const name of EXAMPLES) {
    const source = readFileSync(resolve(ROOT, 'examples', name), 'utf8');
    const r = formatScript(source);
    assert.ok(r.ok, name);
    checkFormat(source);
  }
});

test('the examples are in the canonical style (formatting changes only the listed ones)', () => {
  const changed = EXAMPLES.filter((name) => {
    const r = formatScript(readFileSync(resolve(ROOT, 'examples', name), 'utf8'));
    return r.ok && r.changed;
  });
  assert.deepEqual(changed, EXAMPLES_THAT_CHANGE);
});

test('the scripts of docs/language.md format idempotently and keep their meaning', () => {
  const lines = readFileSync(resolve(ROOT, 'docs', 'language.md'), 'utf8').split('\n');
  let block: string[] | undefined;
  let indent = 0;
  let lang = '';
  let formatted = 0;
  for (const line of lines) {
    const fence = /^( *)```(\w*)$/.exec(line);
    if (fence && !block) {
      [block, indent, lang] = [[], fence[1]!.length, fence[2]!];
    } else if (fence && block) {
      const source = `${block.join('\n')}\n`;
      if (lang === '' && parse(source).diagnostics.length === 0) {
        checkFormat(source);
        formatted++;
      }
      block = undefined;
    } else if (block) {
      block.push(line.slice(indent));
    }
  }
  assert.ok(formatted >= 10, `only ${formatted} scripts found`);
});

// ---- properties ---------------------------------------------------------------------------------------

const blank = fc.constantFrom('', ' ', '  ');
const space = fc.constantFrom(' ', '  ', '\t');
/** Between tokens inside parentheses: blanks, line breaks and comments may appear. */
const parenGap = fc.oneof(
  { weight: 4, arbitrary: blank },
  { weight: 1, arbitrary: fc.constantFrom('\n', '\n    ', '  # inside\n  ', '\n# full line\n', ' #\n') },
);
const COMMENTS = ['# note', '#', '# spaced   ', '# "quoted" ; { } ( )', '#\ttab', '## double', '# ünï 🙂'];
const comment = fc.constantFrom(...COMMENTS);
const NAMES = ['a', 'b', 'p', 'obj', 'x1', '_t', 'GFP_KERNEL', 'kmalloc'];
const name = fc.constantFrom(...NAMES);
const NUMBERS = ['0', '1', '42', '4K', '0x1000', '256M', '1_000', '0x10K', '0XfF', '2g'];
const STRINGS = ['"x"', '"a # b"', '"tab\\t"', '"q\\"q"', '""', '"é🙂"'];
const BINARY = ['*', '/', '%', '+', '-', '<<', '>>', '&', '^', '|', '==', '!=', '<', '<=', '>', '>=', '&&', '||'];

/** An expression; `inParens`: newlines and comments may separate its tokens. */
function expr(depth: number, inParens: boolean): fc.Arbitrary<string> {
  const gap = inParens ? parenGap : blank;
  const leaf = fc.oneof(
    { weight: 3, arbitrary: name },
    { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
    { weight: 1, arbitrary: fc.constantFrom(...STRINGS) },
  );
  if (depth <= 0) return leaf;
  const sub = expr(depth - 1, inParens);
  const inner = expr(depth - 1, true);
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    {
      weight: 2,
      arbitrary: fc
        .tuple(sub, gap, fc.constantFrom(...BINARY), gap, sub)
        .map(([l, g1, op, g2, r]) => `${l}${g1}${op}${g2}${r}`),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('-', '!', '~'), blank, sub).map(([op, g, e]) => `${op}${g}${e}`),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(parenGap, inner, parenGap).map(([g1, e, g2]) => `(${g1}${e}${g2})`),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(parenGap, fc.array(fc.tuple(inner, parenGap, parenGap), { maxLength: 3 }), fc.boolean(), parenGap)
        .map(([g1, items, trailing, g2]) => {
          const list = items.map(([e, a, b]) => `${a}${e}${b}`).join(',');
          return `[${g1}${list}${trailing && items.length > 0 ? ',' : ''}${g2}]`;
        }),
    },
    { weight: 1, arbitrary: fc.tuple(name, blank, inner).map(([n, g, i]) => `${n}[${g}${i}${g}]`) },
    { weight: 1, arbitrary: fc.tuple(name, blank).map(([n, g]) => `pop ${g}${n}`) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          name,
          blank,
          parenGap,
          fc.array(fc.tuple(inner, parenGap, parenGap), { maxLength: 3 }),
          fc.boolean(),
          parenGap,
        )
        .map(([callee, g0, g1, args, trailing, g2]) => {
          const list = args.map(([e, a, b]) => `${a}${e}${b}`).join(',');
          return `${callee}${g0}(${g1}${list}${trailing && args.length > 0 ? ',' : ''}${g2})`;
        }),
    },
  );
}

/** What ends a statement: a line break or ";", with comments, blank lines and indentation around. */
const separator = fc
  .tuple(
    fc.constantFrom('\n', ';', ' ; ', '\n\n', '\n\n\n', ';\n', '  # trailing\n', '; # after semicolon\n'),
    fc.option(fc.tuple(fc.constantFrom('', '  ', '        ', '\t'), comment), { freq: 3 }),
    fc.option(fc.constantFrom('\n', '\n\n'), { freq: 2 }),
    blank,
  )
  .map(([sep, full, more, indent]) => {
    const ends = sep.endsWith('\n') ? sep : `${sep}\n`;
    return full ? `${ends}${full[0]}${full[1]}\n${more ?? ''}${indent}` : `${sep}${more ?? ''}${indent}`;
  });

/** The inside of braces: statements with separators, and what may come after "{" and before "}". */
function body(depth: number): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(' ', '\n', '\n  ', '  # open\n', '\n\n'),
      fc.array(statement(depth), { maxLength: 3 }),
      fc.array(separator, { minLength: 3, maxLength: 3 }),
      fc.constantFrom(' ', '\n', '\n# last\n', '  # end\n', ''),
    )
    .map(
      ([open, stmts, seps, close]) =>
        `{${open}${stmts.map((s, i) => (i > 0 ? seps[i % 3] : '') + s).join('')}${close}}`,
    );
}

function statement(depth: number): fc.Arbitrary<string> {
  const e = expr(2, false);
  const simple = fc.oneof(
    fc.tuple(name, blank, blank, e).map(([n, g1, g2, v]) => `let ${n}${g1}=${g2}${v}`),
    fc.tuple(name, blank, e).map(([n, g, v]) => `${n}${g}= ${v}`),
    fc.tuple(name, e, blank, e).map(([n, i, g, v]) => `${n}[${i}]${g}= ${v}`),
    fc.tuple(name, blank, e).map(([n, g, v]) => `push ${n},${g}${v}`),
    fc.constantFrom('include "lib.kmem"', 'include  "a b.kmem"'),
    e,
    fc
      .tuple(fc.constantFrom('print', 'log'), fc.array(e, { minLength: 1, maxLength: 3 }), blank)
      .map(([kw, items, g]) => `${kw} ${items.join(`${g},${g}`)}`),
    fc.tuple(space, e).map(([g, v]) => `expect${g}${v}`),
    fc.option(e).map((v) => (v === null ? 'return' : `return ${v}`)),
  );
  if (depth <= 0) return simple;
  const b = body(depth - 1);
  return fc.oneof(
    { weight: 4, arbitrary: simple },
    { weight: 1, arbitrary: fc.tuple(e, blank, b).map(([c, g, bl]) => `repeat ${c}${g}${bl}`) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(name, e, blank, blank, e, blank, b)
        .map(([v, from, g1, g2, to, g3, bl]) => `for ${v} in ${from}${g1}..${g2}${to}${g3}${bl}`),
    },
    { weight: 1, arbitrary: fc.tuple(e, blank, b).map(([c, g, bl]) => `while ${c}${g}${bl}`) },
    { weight: 1, arbitrary: fc.tuple(name, e, blank, b).map(([v, l, g, bl]) => `for ${v} in ${l}${g}${bl}`) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(e, b, fc.array(fc.tuple(e, b), { maxLength: 2 }), fc.option(b), blank)
        .map(([c, then, elifs, otherwise, g]) => {
          let s = `if ${c} ${then}`;
          for (const [c2, b2] of elifs) s += `${g}else if ${c2}${g}${b2}`;
          if (otherwise !== null) s += `${g}else${g}${otherwise}`;
          return s;
        }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(name, fc.uniqueArray(name, { maxLength: 3 }), parenGap, b)
        .map(([n, params, g, bl]) => `proc ${n}(${params.join(`,${g}`)}) ${bl}`),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('kasan', 'slub_debug', 'kfence'), blank, b)
        .map(([k, g, bl]) => `expect ${k}${g}${bl}`),
    },
    { weight: 1, arbitrary: fc.tuple(e, blank, b).map(([c, g, bl]) => `on cpu ${c}${g}${bl}`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('irq', 'softirq'), b).map(([c, bl]) => `on ${c} ${bl}`) },
  );
}

const machine = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.tuple(fc.constantFrom(...MACHINE_ENTRIES), expr(1, false)).map(([k, v]) => `${k} ${v}`),
        fc.constantFrom('arch x86_64-la57', 'arch x86_64 - la57', 'slab_debug "FZPU"', 'kasan y'),
      ),
      { maxLength: 5 },
    ),
    fc.array(fc.constantFrom('; ', ';', '\n  ', '  # entry\n  ', '\n\n  # between\n  '), {
      minLength: 5,
      maxLength: 5,
    }),
    fc.constantFrom(' ', '', '\n', '  # machine\n'),
    fc.constantFrom(' ', '', '\n'),
  )
  .map(
    ([entries, seps, open, close]) =>
      `machine {${open}${entries.map((x, i) => (i > 0 ? seps[i]! : '') + x).join('')}${close}}`,
  );

const script = fc
  .tuple(
    fc.constantFrom('', '\n', '# head\n', '\n\n# head\n\n', '\ufeff'),
    fc.option(machine, { freq: 2 }),
    fc.array(statement(2), { maxLength: 6 }),
    fc.array(separator, { minLength: 7, maxLength: 7 }),
    fc.constantFrom('', '\n', '\n\n\n', '  # eof', '\n# eof', '\n# eof   \n\n'),
    fc.constantFrom('\n', '\n', '\r\n', '\r'),
  )
  .map(([head, m, stmts, seps, tail, eol]) => {
    const all = m === null ? stmts : [m, ...stmts];
    return `${head}${all.map((s, i) => (i > 0 ? seps[i]! : '') + s).join('')}${tail}`.replaceAll('\n', eol);
  });

test('random valid scripts format idempotently, to the same tree and comments', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  fc.assert(
    fc.property(script, (source) => {
      assert.deepEqual(parse(source).diagnostics, [], `the generator made a broken script:\n${source}`);
      checkFormat(source);
    }),
    { seed: FC_SEED, numRuns: 400 },
  );
});

test('a formatted script with its indentation scrambled formats back to itself', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  fc.assert(
    fc.property(script, fc.array(fc.constantFrom(' ', '\t', '   '), { minLength: 1, maxLength: 8 }), (source, pads) => {
      // Without comments, whose columns follow the source: every line re-indented and given trailing blanks
      // formats back to the canonical text.
      const canonical = fmt(withoutComments(source.replace(/^\ufeff/, '')));
      const scrambled = canonical
        .split(/(\r\n|\r|\n)/)
        .map((piece, i) => (/^(\r\n|\r|\n)?$/.test(piece) ? piece : `${pads[i % pads.length]}${piece.trim()}  `))
        .join('');
      assert.equal(fmt(scrambled), canonical);
    }),
    { seed: FC_SEED, numRuns: 200 },
  );
});

/** Token texts for soup: every kind of token, line breaks, comments and a few invalid ones. */
const SOUP = [
  ...'let repeat for in if else while proc return expect on cpu irq print machine memory cpus kasan y'.split(' '),
  ...'kfree p x 0 4K 0x10 "s" "#" ( ) { } , ; .. = == + - * << & | ! ~ && < $ 12abc "open true #'.split(' '),
  ...['\n', '\n', '\r\n', '# c\n'],
];

test('token soup: formatScript never throws, and formats exactly what parses cleanly', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...SOUP), { maxLength: 40 }),
      fc.array(blank, { maxLength: 40 }),
      (parts, gaps) => {
        checkFormat(parts.map((p, i) => `${p}${gaps[i] ?? ' '}`).join(''));
      },
    ),
    { seed: FC_SEED, numRuns: 1500 },
  );
});
