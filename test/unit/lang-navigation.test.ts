/*
 * Navigation and structure (engine/lang/navigation.ts): definition, references and rename over the
 * checker's scopes, document symbols, folding ranges and semantic tokens, on the examples and on small
 * scripts; then robustness (every prefix of every example, fast-check mutations never throw), a rename
 * property (a rename that is accepted keeps the program's diagnostics and references) and a speed bound;
 * last, navigation across `include` (engine/lang/links.ts's document links, definition into an included
 * file, a rename of a name declared there refused) over an in-memory IncludeHost.
 *
 * Seeded: the seed is printed as a test diagnostic and can be changed with FC_SEED=<n>.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';

import { Position, Range } from '../../engine/lang/diagnostics';
import type { IncludeHost } from '../../engine/lang/include';
import { lex } from '../../engine/lang/lexer';
import { documentLinks } from '../../engine/lang/links';
import {
  DocumentSymbol,
  SEMANTIC_TOKEN_MODIFIERS,
  SEMANTIC_TOKEN_TYPES,
  SemanticToken,
  TextEdit,
  definition,
  documentSymbols,
  encodeSemanticTokens,
  foldingRanges,
  includedHover,
  prepareRename,
  references,
  rename,
  semanticTokens,
} from '../../engine/lang/navigation';
import { diagnose } from '../../engine/lang/service';
import { TokenKind } from '../../engine/lang/tokens';

const FC_SEED = Number(process.env.FC_SEED ?? 4242);
const EXAMPLES_DIR = resolve(__dirname, '..', '..', 'examples');
const EXAMPLES: ReadonlyMap<string, string> = new Map(
  readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.kmem'))
    .sort()
    .map((f) => [f, readFileSync(resolve(EXAMPLES_DIR, f), 'utf8')]),
);
const example = (name: string): string => EXAMPLES.get(name)!;

/** The position of the `nth` whole-word occurrence of `word` outside comments (plus `offset` characters). */
function at(source: string, word: string, nth = 0, offset = 0): Position {
  const re = new RegExp(`(?<![A-Za-z0-9_])${word.replace(/[^A-Za-z0-9_]/g, '\\$&')}(?![A-Za-z0-9_])`, 'g');
  let m: RegExpExecArray | null = null;
  for (let i = 0; i <= nth; i++) {
    do {
      m = re.exec(source);
      assert.ok(m, `no occurrence ${nth} of ${word}`);
      // Skip occurrences inside comments.
    } while (source.slice(source.lastIndexOf('\n', m.index) + 1, m.index).includes('#'));
  }
  const before = source.slice(0, m!.index + offset).split('\n');
  return { line: before.length - 1, character: before[before.length - 1]!.length };
}

function lines(source: string): string[] {
  return source.split('\n');
}

/** The text a one-line range covers. */
function textAt(source: string, r: Range): string {
  assert.equal(r.start.line, r.end.line);
  return lines(source)[r.start.line]!.slice(r.start.character, r.end.character);
}

/** `line:character` of each range, for compact comparisons. */
const where = (ranges: readonly Range[]): string[] => ranges.map((r) => `${r.start.line}:${r.start.character}`);

/** Each diagnostic's code and line. */
const codes = (source: string): string[] => diagnose(source, 'x.kmem').map((d) => `${d.code} ${d.range.start.line}`);

function applyEdits(source: string, edits: readonly TextEdit[]): string {
  const starts = [0];
  for (const m of source.matchAll(/\r\n|\r|\n/g)) starts.push(m.index + m[0].length);
  const offset = (p: Position): number => starts[p.line]! + p.character;
  let out = source;
  for (const e of [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start))) {
    out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  }
  return out;
}

function renamed(source: string, position: Position, newName: string): string {
  const result = rename(source, position, newName);
  assert.ok('edits' in result, `rename refused: ${'error' in result ? result.error : ''}`);
  return applyEdits(source, result.edits);
}

function refused(source: string, position: Position, newName: string): string {
  const result = rename(source, position, newName);
  assert.ok('error' in result, `rename to ${newName} accepted`);
  return result.error;
}

const SCOPES = [
  'let p = kmalloc(64, GFP_KERNEL)', // 0: the global p
  'repeat 2 {', // 1
  '  let p = kmalloc(128, GFP_KERNEL)', // 2: shadows it in the loop body
  '  kfree(p)', // 3: the inner p
  '}', // 4
  'kfree(p)', // 5: the global again
  'proc twice(p) {', // 6: a parameter shadows the global
  '  return p + p', // 7
  '}', // 8
  'let q = twice(p)', // 9: the global
  'for i in 0..4 {', // 10
  '  q = q + (i)', // 11: a global assigned inside a loop; a parenthesised use of i
  '}', // 12
  '',
].join('\n');

// ---- definition ---------------------------------------------------------------------------------

test('definition: a use goes to its let, a loop variable to its for, a call to its proc line', () => {
  const src = example('module-leak.kmem');
  const table = definition(src, at(src, 'table', 3));
  assert.deepEqual(table, { start: at(src, 'table'), end: at(src, 'table', 0, 5) });
  assert.equal(textAt(src, table!), 'table');
  const i = definition(src, at(src, 'i', 1));
  assert.deepEqual(i?.start, at(src, 'i'));
  assert.equal(lines(src)[i!.start.line]!.trim(), 'for i in 0..4 {');
  const init = definition(src, at(src, 'module_init', 1));
  assert.deepEqual(init, { start: at(src, 'module_init'), end: at(src, 'module_init', 0, 11) });
  assert.match(lines(src)[init!.start.line]!, /^proc module_init\(\)/);
  // On the declaration itself: the declaration.
  assert.deepEqual(definition(src, at(src, 'found')), definition(src, at(src, 'found', 1)));
});

test('definition: scopes (shadowing let, parameter, global inside a procedure), cursor at a word end', () => {
  assert.deepEqual(definition(SCOPES, at(SCOPES, 'p', 2))?.start, { line: 2, character: 6 });
  assert.deepEqual(definition(SCOPES, at(SCOPES, 'p', 3))?.start, { line: 0, character: 4 });
  assert.deepEqual(definition(SCOPES, at(SCOPES, 'p', 5))?.start, { line: 6, character: 11 });
  assert.deepEqual(definition(SCOPES, at(SCOPES, 'p', 6))?.start, { line: 6, character: 11 });
  assert.deepEqual(definition(SCOPES, at(SCOPES, 'p', 7))?.start, { line: 0, character: 4 });
  assert.deepEqual(definition(SCOPES, at(SCOPES, 'q', 2))?.start, { line: 9, character: 4 });
  // The cursor just after a name is still on it; `(i)` resolves to the loop variable.
  assert.deepEqual(definition(SCOPES, { line: 3, character: 9 })?.start, { line: 2, character: 6 });
  assert.deepEqual(definition(SCOPES, at(SCOPES, 'i', 1))?.start, { line: 10, character: 4 });
});

test('definition: builtins, keywords, numbers, strings, comments and undeclared names have none', () => {
  const src = example('slab-growth.kmem');
  for (const p of [
    at(src, 'kmalloc'),
    at(src, 'GFP_KERNEL'),
    at(src, 'let'),
    at(src, 'repeat'),
    at(src, '150'),
    at(src, 'memory'),
    { line: 0, character: 5 },
    { line: 999, character: 0 },
  ]) {
    assert.equal(definition(src, p), undefined, JSON.stringify(p));
  }
  assert.equal(definition('let a = 1\nkfree(frist)\n', { line: 1, character: 7 }), undefined);
  assert.equal(definition('print "name", 1\n', { line: 0, character: 8 }), undefined);
});

// ---- references ---------------------------------------------------------------------------------

test('references: every use of the same variable, shadowing respected, declaration optional', () => {
  assert.deepEqual(where(references(SCOPES, { line: 0, character: 4 }, true)), ['0:4', '5:6', '9:14']);
  assert.deepEqual(where(references(SCOPES, { line: 5, character: 6 }, false)), ['5:6', '9:14']);
  assert.deepEqual(where(references(SCOPES, { line: 3, character: 8 }, true)), ['2:6', '3:8']);
  assert.deepEqual(where(references(SCOPES, { line: 7, character: 9 }, true)), ['6:11', '7:9', '7:13']);
  assert.deepEqual(where(references(SCOPES, at(SCOPES, 'q'), true)), ['9:4', '11:2', '11:6']);
  // A parenthesised use covers the name only.
  const i = references(SCOPES, at(SCOPES, 'i'), true);
  assert.deepEqual(where(i), ['10:4', '11:11']);
  assert.equal(textAt(SCOPES, i[1]!), 'i');
  // Nothing at a keyword or a number; a builtin gives its uses.
  assert.deepEqual(references(SCOPES, at(SCOPES, 'repeat'), true), []);
  assert.deepEqual(references(SCOPES, at(SCOPES, '64'), true), []);
  assert.deepEqual(where(references(SCOPES, at(SCOPES, 'kfree'), true)), ['3:2', '5:0']);
});

test('references: a procedure, its recursive calls, a constructor argument and an early call', () => {
  const src = [
    'proc fib(n) {',
    '  if n < 2 {',
    '    return n',
    '  }',
    '  return fib(n - 1) + fib(n - 2)',
    '}',
    'proc init_once(obj) {',
    '  write64(obj, 0)',
    '}',
    'let c = kmem_cache_create("conn", 64, 0, SLAB_HWCACHE_ALIGN, init_once)',
    'let f = fib(10)',
    '',
  ].join('\n');
  assert.deepEqual(diagnose(src, 'procs.kmem'), []);
  assert.deepEqual(where(references(src, at(src, 'fib', 3), true)), ['0:5', '4:9', '4:22', '10:8']);
  assert.deepEqual(where(references(src, at(src, 'fib'), false)), ['4:9', '4:22', '10:8']);
  assert.deepEqual(where(references(src, at(src, 'init_once', 1), true)), ['6:5', '9:61']);
  assert.deepEqual(definition(src, at(src, 'init_once', 1)), {
    start: at(src, 'init_once'),
    end: at(src, 'init_once', 0, 9),
  });
  // A call before the definition (KM2003) still names the procedure.
  const early = 'f()\nproc f() {\n  kfree(0)\n}\nf()\n';
  assert.deepEqual(where(references(early, { line: 4, character: 0 }, true)), ['0:0', '1:5', '4:0']);
});

test('references on the examples: every group is one name, and every use has a definition', () => {
  for (const [name, src] of EXAMPLES) {
    for (const t of lex(src).tokens) {
      if (t.kind !== TokenKind.Identifier) continue;
      const refs = references(src, t.range.start, true);
      for (const r of refs) assert.equal(textAt(src, r), t.text, `${name} ${t.text}`);
      const def = definition(src, t.range.start);
      // A name with a definition is a variable or procedure: its references hold the definition and it.
      if (def) {
        assert.deepEqual(
          refs.filter((r) => r.start.line === def.start.line && r.start.character === def.start.character).length,
          1,
        );
        assert.ok(
          refs.some((r) => r.start.line === t.range.start.line && r.start.character === t.range.start.character),
        );
      }
      assert.equal('error' in prepareRename(src, t.range.start), def === undefined, `${name} ${t.text}`);
    }
  }
});

// ---- rename -------------------------------------------------------------------------------------

test('prepareRename: variables and procedures; refused on builtins, keywords, entries and literals', () => {
  const src = example('module-leak.kmem');
  assert.deepEqual(prepareRename(src, at(src, 'table', 2, 2)), {
    range: { start: at(src, 'table', 2), end: at(src, 'table', 2, 5) },
    placeholder: 'table',
  });
  assert.deepEqual(prepareRename(src, at(src, 'module_exit', 1)), {
    range: { start: at(src, 'module_exit', 1), end: at(src, 'module_exit', 1, 11) },
    placeholder: 'module_exit',
  });
  const error = (p: Position): string => {
    const r = prepareRename(src, p);
    assert.ok('error' in r, JSON.stringify(r));
    return r.error;
  };
  assert.match(error(at(src, 'kzalloc')), /'kzalloc' is a built-in function/);
  assert.match(error(at(src, 'GFP_KERNEL')), /'GFP_KERNEL' is a built-in constant/);
  assert.match(error(at(src, 'proc', 1)), /'proc' is a keyword/);
  assert.match(error(at(src, 'kmemleak')), /'kmemleak' is a machine entry/);
  assert.match(error(at(src, 'y')), /machine value/);
  assert.match(error(at(src, 'kmemleak', 1)), /report kind/);
  assert.match(error(at(src, '10000')), /no name here/);
  assert.match(error({ line: 0, character: 4 }), /no name here/);
  assert.match(
    (prepareRename('kfree(frist)\n', { line: 0, character: 7 }) as { error: string }).error,
    /not a declared variable/,
  );
});

test('rename: every occurrence of the variable in its scope, nothing else', () => {
  const out = renamed(SCOPES, { line: 3, character: 8 }, 'obj');
  assert.deepEqual(lines(out).slice(0, 6), [
    'let p = kmalloc(64, GFP_KERNEL)',
    'repeat 2 {',
    '  let obj = kmalloc(128, GFP_KERNEL)',
    '  kfree(obj)',
    '}',
    'kfree(p)',
  ]);
  const global = renamed(SCOPES, { line: 9, character: 14 }, 'buf');
  assert.equal(lines(global)[0], 'let buf = kmalloc(64, GFP_KERNEL)');
  assert.equal(lines(global)[2], '  let p = kmalloc(128, GFP_KERNEL)');
  assert.equal(lines(global)[7], '  return p + p');
  assert.equal(lines(global)[9], 'let q = twice(buf)');
  const param = renamed(SCOPES, { line: 7, character: 9 }, 'x');
  assert.deepEqual(lines(param).slice(6, 8), ['proc twice(x) {', '  return x + x']);
  const loop = renamed(SCOPES, at(SCOPES, 'i', 1), 'k');
  assert.deepEqual(lines(loop).slice(10, 12), ['for k in 0..4 {', '  q = q + (k)']);
  for (const text of [out, global, param, loop]) assert.deepEqual(diagnose(text, 'r.kmem'), []);
  // The same name: nothing to change.
  assert.deepEqual(rename(SCOPES, { line: 0, character: 4 }, 'p'), { edits: [] });
});

test('rename: a procedure, at its definition or a call, its callback use included', () => {
  const src = example('module-leak.kmem');
  const out = renamed(src, at(src, 'module_init', 1), 'driver_probe');
  assert.doesNotMatch(out, /module_init/);
  assert.match(out, /^proc driver_probe\(\) \{$/m);
  assert.match(out, /^driver_probe\(\)$/m);
  assert.deepEqual(diagnose(out, 'm.kmem'), diagnose(src, 'm.kmem'));
  const ctor = 'proc init_once(obj) {\n  write64(obj, 0)\n}\nlet c = kmem_cache_create("x", 64, 0, 0, init_once)\n';
  assert.equal(
    renamed(ctor, { line: 0, character: 6 }, 'ctor'),
    'proc ctor(obj) {\n  write64(obj, 0)\n}\nlet c = kmem_cache_create("x", 64, 0, 0, ctor)\n',
  );
});

test('rename: refuses names that are not identifiers, reserved words and builtins', () => {
  const p = { line: 0, character: 4 };
  assert.match(refused(SCOPES, p, ''), /empty/);
  assert.match(refused(SCOPES, p, '2fast'), /not a name/);
  assert.match(refused(SCOPES, p, 'my-var'), /not a name/);
  assert.match(refused(SCOPES, p, 'naïve'), /not a name/);
  assert.match(refused(SCOPES, p, 'while'), /'while' is a keyword/);
  assert.match(refused(SCOPES, p, 'heap'), /reserved word/);
  assert.match(refused(SCOPES, p, 'true'), /reserved word/);
  assert.match(refused(SCOPES, p, 'kfree'), /built-in function/);
  assert.match(refused(SCOPES, p, 'GFP_ATOMIC'), /built-in constant/);
  assert.match(refused(SCOPES, p, 'SLAB_POISON'), /built-in constant/);
  assert.match(refused(SCOPES, at(SCOPES, 'twice'), 'kmalloc'), /built-in function/);
  assert.match(refused(SCOPES, at(SCOPES, 'kmalloc'), 'alloc'), /built-in function/);
  assert.match(refused(SCOPES, at(SCOPES, 'repeat'), 'again'), /keyword/);
});

test('rename: refuses collisions in a scope, shadowing, capture and procedure names', () => {
  // Same scope: the global p and q.
  assert.match(refused(SCOPES, { line: 0, character: 4 }, 'q'), /'q' already names a variable visible where 'p' is/);
  // The inner p to q: q is a global declared after the loop, not visible in it: allowed.
  assert.ok('edits' in rename(SCOPES, { line: 2, character: 6 }, 'q'));
  // A variable to a procedure's name, and a procedure to a variable's name.
  assert.match(refused(SCOPES, { line: 0, character: 4 }, 'twice'), /'twice' is already a procedure/);
  assert.match(refused(SCOPES, at(SCOPES, 'twice'), 'q'), /'q' is already a variable/);
  // Shadowing an outer variable, and capturing the outer one's uses.
  const nested = 'let a = 1\nlet b = 2\nrepeat 2 {\n  let c = a + b\n  kfree(c)\n}\n';
  assert.match(refused(nested, at(nested, 'c'), 'a'), /'a' already names a variable/);
  assert.match(refused(nested, at(nested, 'a'), 'c'), /'c' already names a variable/);
  // The loop variable and a parameter.
  assert.match(refused(SCOPES, at(SCOPES, 'i'), 'q'), /'q' already names a variable/);
  // An undeclared name in the scope would come to refer to the renamed variable.
  const broken = 'let a = 1\nkfree(b)\n';
  assert.match(refused(broken, at(broken, 'a'), 'b'), /'b' is used at line 2 without a declaration/);
  // Sibling blocks do not see each other.
  const siblings = 'repeat 2 {\n  let a = 1\n  kfree(a)\n}\nrepeat 2 {\n  let b = 2\n  kfree(b)\n}\n';
  const out = renamed(siblings, at(siblings, 'a'), 'b');
  assert.equal(out, 'repeat 2 {\n  let b = 1\n  kfree(b)\n}\nrepeat 2 {\n  let b = 2\n  kfree(b)\n}\n');
  assert.deepEqual(diagnose(out, 's.kmem'), []);
});

test('rename on broken text: what the checker resolved is renamed, the errors stay the same', () => {
  // A loop variable assigned (KM2015) is still that variable.
  const src = 'for i in 0..4 {\n  i = 2\n  kfree(i)\n}\n';
  const out = renamed(src, { line: 2, character: 8 }, 'k');
  assert.equal(out, 'for k in 0..4 {\n  k = 2\n  kfree(k)\n}\n');
  assert.deepEqual(
    diagnose(out, 'b.kmem').map((d) => d.code),
    diagnose(src, 'b.kmem').map((d) => d.code),
  );
  // A syntax error elsewhere does not stop a rename.
  const typo = 'let p = kmalloc(64, GFP_KERNEL)\nlet q = 1 + * 2\nkfree(p)\n';
  assert.equal(
    renamed(typo, { line: 0, character: 4 }, 'obj'),
    typo.replaceAll('(p)', '(obj)').replace('let p', 'let obj'),
  );
});

// ---- document symbols ---------------------------------------------------------------------------

/** name:kind(children) of each symbol, for compact comparisons. */
function outline(symbols: readonly DocumentSymbol[]): string[] {
  return symbols.map(
    (s) => `${s.name}:${s.kind}${s.children ? `(${s.children.map((c) => `${c.name}:${c.kind}`).join(' ')})` : ''}`,
  );
}

const contains = (outer: Range, inner: Range): boolean =>
  (outer.start.line < inner.start.line ||
    (outer.start.line === inner.start.line && outer.start.character <= inner.start.character)) &&
  (inner.end.line < outer.end.line ||
    (inner.end.line === outer.end.line && inner.end.character <= outer.end.character));

test('documentSymbols: machine and its entries, procedures and their locals, variables, blocks', () => {
  const src = example('module-leak.kmem');
  const symbols = documentSymbols(src);
  assert.deepEqual(outline(symbols), [
    'machine:machine(kmemleak:property)',
    'table:variable',
    'module_init:procedure(i:variable dev:variable)',
    'module_exit:procedure()',
    'before:variable',
    'found:variable',
    'expect kmemleak:block()',
  ]);
  const init = symbols[2]!;
  assert.deepEqual(init.selectionRange, { start: at(src, 'module_init'), end: at(src, 'module_init', 0, 11) });
  assert.equal(init.range.end.line, at(src, 'proc', 1).line - 2);
  assert.equal(init.detail, '()');
  assert.equal(init.children![0]!.detail, 'loop variable');
  assert.equal(symbols[0]!.children![0]!.detail, 'y');

  const kasan = example('kasan-oob.kmem');
  assert.deepEqual(outline(documentSymbols(kasan)), [
    'machine:machine(kasan:property kasan_multi_shot:property)',
    'len:variable',
    'pkt:variable',
    'expect kasan:block()',
    'next:variable',
    'expect kasan:block(stale:variable)',
    'expect kasan:block()',
  ]);
  const procs = [
    'proc rx(len, flags) {',
    '  let head = kmalloc(len, flags)',
    '  return head',
    '}',
    'on cpu 1 {',
    '  let x = rx(1, GFP_KERNEL)',
    '}',
    'on irq {',
    '}',
    '',
  ].join('\n');
  const ps = documentSymbols(procs);
  assert.deepEqual(outline(ps), [
    'rx:procedure(len:variable flags:variable head:variable)',
    'on cpu 1:block(x:variable)',
    'on irq:block()',
  ]);
  assert.equal(ps[0]!.detail, '(len, flags)');
  assert.equal(ps[0]!.children![0]!.detail, 'parameter');
});

test('documentSymbols: every symbol of every example holds its selection range', () => {
  for (const [name, src] of EXAMPLES) {
    const visit = (symbols: readonly DocumentSymbol[], parent?: DocumentSymbol): void => {
      for (const s of symbols) {
        assert.ok(contains(s.range, s.selectionRange), `${name}: ${s.name}`);
        if (parent) assert.ok(contains(parent.range, s.range), `${name}: ${s.name} in ${parent.name}`);
        assert.ok(s.name.length > 0);
        visit(s.children ?? [], s);
      }
    };
    const symbols = documentSymbols(src);
    assert.ok(symbols.length > 0, name);
    visit(symbols);
  }
});

// ---- folding ------------------------------------------------------------------------------------

test('foldingRanges: blocks over several lines, if/else chains, comment runs and regions', () => {
  const src = [
    '# A scenario', // 0
    '# with a header', // 1
    'machine {', // 2
    '  memory 1G', // 3
    '  cpus 2 }', // 4
    'let p = kmalloc(64, GFP_KERNEL)  # a trailing comment', // 5
    '# region setup', // 6
    'if p == 0 {', // 7
    '  kfree(p)', // 8
    '} else if p == 1 {', // 9
    '  kfree(p)', // 10
    '} else {', // 11
    '  repeat 2 { kfree(0) }', // 12: one line, no fold
    '}', // 13
    '# endregion', // 14
    'proc f() {', // 15
    '  # one comment line: no fold', // 16
    '  kfree(0)', // 17
    '}', // 18
    '',
  ].join('\n');
  assert.deepEqual(foldingRanges(src), [
    { startLine: 0, endLine: 1, kind: 'comment' },
    { startLine: 2, endLine: 4 },
    { startLine: 6, endLine: 14, kind: 'region' },
    { startLine: 7, endLine: 8 },
    { startLine: 9, endLine: 10 },
    { startLine: 11, endLine: 12 },
    { startLine: 15, endLine: 17 },
  ]);
  const slab = example('slab-growth.kmem');
  assert.deepEqual(foldingRanges(slab), [
    { startLine: 0, endLine: 3, kind: 'comment' },
    { startLine: 11, endLine: 12 },
    { startLine: 15, endLine: 17 },
  ]);
  // Unbalanced braces fold what they can.
  assert.deepEqual(foldingRanges('repeat 2 {\n  kfree(0)\n}\n}\nrepeat 3 {\n  kfree(0)\n'), [
    { startLine: 0, endLine: 1 },
  ]);
});

// ---- semantic tokens ----------------------------------------------------------------------------

test('semanticTokens: every kind of token, classified, in document order', () => {
  const src = [
    'machine { memory 2M * 8; kasan y }', // 0
    'let p = kmalloc(4K, GFP_KERNEL | __GFP_ZERO)  # a comment', // 1
    'proc f(n) {', // 2
    '  return n + 0x10', // 3
    '}', // 4
    'for i in 0..f(2) {', // 5
    '  print "i", i, p', // 6
    '}', // 7
    'expect kasan {', // 8
    '  kfree(p)', // 9
    '}', // 10
    '',
  ].join('\n');
  const tokens = semanticTokens(src);
  const show = (t: SemanticToken): string => {
    const text = lines(src)[t.line]!.slice(t.character, t.character + t.length);
    return [`${text} ${t.type}`, ...t.modifiers].join('.');
  };
  assert.deepEqual(tokens.map(show), [
    'machine keyword',
    'memory property',
    '2M number',
    '* operator',
    '8 number',
    'kasan property',
    'y enumMember.readonly',
    'let keyword',
    'p variable.declaration',
    '= operator',
    'kmalloc function.defaultLibrary',
    '4K number',
    'GFP_KERNEL macro.readonly.defaultLibrary',
    '| operator',
    '__GFP_ZERO macro.readonly.defaultLibrary',
    '# a comment comment',
    'proc keyword',
    'f function.declaration',
    'n parameter.declaration',
    'return keyword',
    'n parameter',
    '+ operator',
    '0x10 number',
    'for keyword',
    'i variable.declaration.readonly',
    'in keyword',
    '0 number',
    '.. operator',
    'f function',
    '2 number',
    'print keyword',
    '"i" string',
    'i variable.readonly',
    'p variable',
    'expect keyword',
    'kasan enumMember.readonly',
    'kfree function.defaultLibrary',
    'p variable',
  ]);
  for (const t of tokens) {
    assert.ok((SEMANTIC_TOKEN_TYPES as readonly string[]).includes(t.type));
    for (const m of t.modifiers) assert.ok((SEMANTIC_TOKEN_MODIFIERS as readonly string[]).includes(m));
  }
});

test('semanticTokens on the examples: single-line, inside their line, in order, no overlap', () => {
  for (const [name, src] of EXAMPLES) {
    const text = lines(src.replace(/\r\n?/g, '\n'));
    const tokens = semanticTokens(src);
    let prev = { line: -1, end: 0 };
    for (const t of tokens) {
      assert.ok(t.length > 0 && t.character + t.length <= text[t.line]!.length, `${name} ${JSON.stringify(t)}`);
      assert.ok(t.line > prev.line || t.character >= prev.end, `${name}: out of order at ${t.line}:${t.character}`);
      prev = { line: t.line, end: t.character + t.length };
    }
    assert.ok(tokens.some((t) => t.type === 'comment') && tokens.some((t) => t.type === 'keyword'), name);
  }
});

test('encodeSemanticTokens: relative integers, five per token, that decode back', () => {
  const src = example('module-leak.kmem');
  const tokens = semanticTokens(src);
  const data = encodeSemanticTokens(tokens);
  assert.equal(data.length, tokens.length * 5);
  assert.ok(data.every((n) => Number.isInteger(n) && n >= 0));
  let line = 0;
  let character = 0;
  const decoded: SemanticToken[] = [];
  for (let i = 0; i < data.length; i += 5) {
    const [dl, ds, length, type, bits] = data.slice(i, i + 5) as [number, number, number, number, number];
    line += dl;
    character = dl === 0 ? character + ds : ds;
    decoded.push({
      line,
      character,
      length,
      type: SEMANTIC_TOKEN_TYPES[type]!,
      modifiers: SEMANTIC_TOKEN_MODIFIERS.filter((_, b) => bits & (1 << b)),
    });
  }
  assert.deepEqual(decoded, tokens);
  assert.deepEqual(
    encodeSemanticTokens([
      { line: 2, character: 4, length: 1, type: 'variable', modifiers: ['declaration', 'readonly'] },
      { line: 2, character: 0, length: 3, type: 'keyword', modifiers: [] },
      { line: 0, character: 1, length: 7, type: 'function', modifiers: ['defaultLibrary'] },
    ]),
    [0, 1, 7, 1, 4, 2, 0, 3, 0, 0, 0, 4, 1, 2, 3],
  );
});

// ---- robustness ---------------------------------------------------------------------------------

/** Calls every function at a few positions; none may throw, and ranges must be well formed. */
function exercise(source: string, positions: readonly Position[]): void {
  documentSymbols(source);
  foldingRanges(source);
  encodeSemanticTokens(semanticTokens(source));
  for (const p of positions) {
    definition(source, p);
    references(source, p, true);
    prepareRename(source, p);
    const r = rename(source, p, 'renamed_x');
    if ('edits' in r && r.edits.length > 0) {
      // Accepted on broken text too: the same diagnostics after, and the same references.
      const after = applyEdits(source, r.edits);
      assert.deepEqual(codes(after), codes(source));
      assert.equal(references(after, r.edits[0]!.range.start, true).length, r.edits.length);
    }
  }
}

test('every prefix of every example (broken text): nothing throws', () => {
  for (const [, src] of EXAMPLES) {
    const all = lines(src);
    for (let n = 1; n <= all.length; n++) {
      const prefix = all.slice(0, n).join('\n');
      const last = all[n - 1]!;
      exercise(prefix, [
        { line: n - 1, character: Math.floor(last.length / 2) },
        { line: n - 1, character: last.length },
        { line: 0, character: 4 },
      ]);
      exercise(prefix.slice(0, -Math.ceil(last.length / 3) || undefined), [{ line: n - 1, character: 2 }]);
    }
  }
});

const VOCABULARY = [
  'let',
  'repeat',
  'for',
  'in',
  'if',
  'else',
  'while',
  'proc',
  'return',
  'expect',
  'on',
  'cpu',
  'irq',
  'machine',
  'memory',
  'kmalloc',
  'kfree',
  'GFP_KERNEL',
  'table',
  'dev',
  'i',
  'x',
  '0',
  '4K',
  '0x10',
  '"s"',
  '"open',
  '(',
  ')',
  '{',
  '}',
  ',',
  ';',
  '..',
  '=',
  '==',
  '+',
  '-',
  '*',
  '&&',
  '\n',
  '\r\n',
  '#',
  '# region',
  '$',
  '🙂',
];

/** Replaces, deletes or inserts a token of the text. */
function mutate(source: string, edits: readonly { at: number; kind: number; text: string }[]): string {
  const pieces: string[] = [];
  let prev = 0;
  for (const t of lex(source).tokens) {
    if (t.kind === TokenKind.Eof || t.kind === TokenKind.Newline) continue;
    pieces.push(source.slice(prev, t.start), source.slice(t.start, t.end));
    prev = t.end;
  }
  pieces.push(source.slice(prev));
  const tokens = (pieces.length - 1) / 2;
  for (const e of edits) {
    const i = 1 + 2 * (e.at % Math.max(1, tokens));
    if (i >= pieces.length) continue;
    pieces[i] = e.kind === 0 ? '' : e.kind === 1 ? e.text : `${e.text} ${pieces[i]}`;
  }
  return pieces.join('');
}

test('random edits of the examples: no function throws, anywhere', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  const sources = [...EXAMPLES.values()];
  const edit = fc.record({ at: fc.nat(), kind: fc.integer({ min: 0, max: 2 }), text: fc.constantFrom(...VOCABULARY) });
  fc.assert(
    fc.property(
      fc.nat({ max: sources.length - 1 }),
      fc.array(edit, { minLength: 1, maxLength: 5 }),
      fc.array(fc.record({ line: fc.nat({ max: 60 }), character: fc.nat({ max: 90 }) }), { maxLength: 4 }),
      (which, edits, positions) => exercise(mutate(sources[which]!, edits), positions),
    ),
    { seed: FC_SEED, numRuns: 150 },
  );
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.nat({ max: 5 }),
      fc.nat({ max: 40 }),
      (s, line, character) => exercise(s, [{ line, character }]),
    ),
    { seed: FC_SEED, numRuns: 200 },
  );
});

const NEW_NAMES = [
  'x',
  'i',
  'p',
  'obj',
  'table',
  'dev',
  'found',
  'len',
  'buf',
  'first',
  'again',
  'c',
  'f',
  'n',
  'zz_top',
];

test('an accepted rename keeps the diagnostics and the references; a refused one says why', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  const cases: { source: string; position: Position }[] = [];
  for (const src of [...EXAMPLES.values(), SCOPES]) {
    for (const tok of lex(src).tokens) {
      if (tok.kind === TokenKind.Identifier && !('error' in prepareRename(src, tok.range.start))) {
        cases.push({ source: src, position: tok.range.start });
      }
    }
  }
  assert.ok(cases.length > 100);
  let accepted = 0;
  let refusals = 0;
  fc.assert(
    fc.property(fc.nat({ max: cases.length - 1 }), fc.constantFrom(...NEW_NAMES), (which, newName) => {
      const { source, position } = cases[which]!;
      const before = references(source, position, true);
      const result = rename(source, position, newName);
      if ('error' in result) {
        refusals++;
        assert.ok(result.error.length > 0);
        return;
      }
      accepted++;
      const after = applyEdits(source, result.edits);
      assert.equal(result.edits.length, newName === textAt(source, before[0]!) ? 0 : before.length);
      assert.deepEqual(codes(after), codes(source));
      const moved = result.edits.length ? references(after, result.edits[0]!.range.start, true) : before;
      assert.equal(moved.length, before.length);
      for (const r of moved) assert.equal(textAt(after, r), newName);
    }),
    { seed: FC_SEED, numRuns: 300 },
  );
  t.diagnostic(`${accepted} renames accepted, ${refusals} refused`);
  assert.ok(accepted > 0 && refusals > 0);
});

// ---- speed --------------------------------------------------------------------------------------

test('a 10,000-line scenario: symbols, folding and semantic tokens each well within a second', () => {
  const unit = example('module-leak.kmem').replace(/^machine.*$/m, '');
  const parts: string[] = [];
  for (let k = 0; parts.join('').split('\n').length < 10_000; k++) {
    parts.push(unit.replace(/\b(module_init|module_exit|before|found|table)\b/g, `$1_${k}`));
  }
  const big = parts.join('');
  assert.ok(lines(big).length >= 10_000);
  // A distinct text for each call, so no call reuses another's analysis.
  const timed = (f: (s: string) => unknown, tag: string): number => {
    const start = performance.now();
    f(`${big}# ${tag}\n`);
    return performance.now() - start;
  };
  for (const [tag, f] of [
    ['symbols', documentSymbols],
    ['folding', foldingRanges],
    ['tokens', (s: string) => encodeSemanticTokens(semanticTokens(s))],
  ] as const) {
    const ms = timed(f, tag);
    assert.ok(ms < 1000, `${tag}: ${ms.toFixed(0)} ms`);
  }
  const ms = timed((s) => rename(s, at(s, 'table_7'), 'device_table'), 'rename');
  assert.ok(ms < 2000, `rename: ${ms.toFixed(0)} ms`);
});

// ---- includes ----------------------------------------------------------------------------------

/** An include host over named texts: a path resolves against the including file's folder. */
function memoryHost(files: Readonly<Record<string, string>>): IncludeHost {
  return {
    resolve: (path, from) => {
      const fileName = from.slice(0, from.lastIndexOf('/') + 1) + path;
      const text = files[fileName];
      return text === undefined
        ? { code: 'KM2031', message: `cannot include '${path}': no such file` }
        : { fileName, text };
    },
  };
}

const MAIN_FILE = '/ws/main.kmem';
const POOLS_FILE = '/ws/lib/pools.kmem';
const POOLS = [
  '# pools.kmem: a pool of objects', // 0
  'let shared = 1', // 1
  'proc fill(pool, n) {', // 2
  '  repeat n {', // 3
  '    push pool, kmalloc(64, GFP_KERNEL)', // 4
  '  }', // 5
  '}', // 6
  '',
].join('\n');
const INCLUDING = [
  'include "lib/pools.kmem"', // 0
  'include "lib/missing.kmem"', // 1
  'let pool = []', // 2
  'fill(pool, shared)', // 3
  'fill(pool, 2)', // 4
  'repeat 1 {', // 5
  '  include "lib/pools.kmem"', // 6: KM2028, but the path still names a file
  '}', // 7
  '',
].join('\n');
const HOST = memoryHost({ [POOLS_FILE]: POOLS, '/ws/lib/sized.kmem': 'let block = kmalloc(size, GFP_KERNEL)\n' });

test('document links: each include path that resolves, its string literal linked to the file', () => {
  assert.deepEqual(documentLinks(INCLUDING, MAIN_FILE, HOST), [
    { range: { start: { line: 0, character: 8 }, end: { line: 0, character: 24 } }, fileName: POOLS_FILE },
    { range: { start: { line: 6, character: 10 }, end: { line: 6, character: 26 } }, fileName: POOLS_FILE },
  ]);
  assert.deepEqual(documentLinks('include "../outside.kmem"\ninclude ""\ninclude\n', MAIN_FILE, HOST), []);
  assert.deepEqual(documentLinks('let a = 1\n', MAIN_FILE, HOST), []);
});

test('definition: a name declared in an included file goes to that file, one of the text to the text', () => {
  assert.deepEqual(definition(INCLUDING, at(INCLUDING, 'fill'), MAIN_FILE, HOST), {
    fileName: POOLS_FILE,
    range: { start: { line: 2, character: 5 }, end: { line: 2, character: 9 } },
  });
  assert.deepEqual(definition(INCLUDING, at(INCLUDING, 'shared'), MAIN_FILE, HOST), {
    fileName: POOLS_FILE,
    range: { start: { line: 1, character: 4 }, end: { line: 1, character: 10 } },
  });
  assert.deepEqual(definition(INCLUDING, at(INCLUDING, 'pool', 1), MAIN_FILE, HOST), {
    fileName: MAIN_FILE,
    range: { start: { line: 2, character: 4 }, end: { line: 2, character: 8 } },
  });
  // With a file name but no host, or no file name at all: the text alone, as before.
  assert.equal(definition(INCLUDING, at(INCLUDING, 'fill'), MAIN_FILE), undefined);
  assert.equal(definition(INCLUDING, at(INCLUDING, 'fill')), undefined);
  assert.deepEqual(definition(INCLUDING, at(INCLUDING, 'pool', 1)), {
    start: { line: 2, character: 4 },
    end: { line: 2, character: 8 },
  });
  // A host that resolves nothing: the text alone, named.
  assert.deepEqual(definition(SCOPES, at(SCOPES, 'q', 2), 'scopes.kmem', HOST), {
    fileName: 'scopes.kmem',
    range: definition(SCOPES, at(SCOPES, 'q', 2))!,
  });
});

test('references and hover of a name declared in an included file: its uses in the text, where it is declared', () => {
  assert.deepEqual(where(references(INCLUDING, at(INCLUDING, 'fill', 1), true, MAIN_FILE, HOST)), ['3:0', '4:0']);
  assert.deepEqual(references(INCLUDING, at(INCLUDING, 'fill'), true), []);
  const hover = includedHover(INCLUDING, at(INCLUDING, 'fill'), MAIN_FILE, HOST);
  assert.deepEqual(hover?.range, { start: { line: 3, character: 0 }, end: { line: 3, character: 4 } });
  assert.match(hover!.contents, /proc fill\(pool, n\)/);
  assert.match(hover!.contents, /defined in lib\/pools\.kmem, line 3/);
  assert.match(includedHover(INCLUDING, at(INCLUDING, 'shared'), MAIN_FILE, HOST)!.contents, /let shared/);
  assert.equal(includedHover(INCLUDING, at(INCLUDING, 'pool', 1), MAIN_FILE, HOST), undefined);
});

test('rename: a name declared in an included file is refused; a local one renames in the text', () => {
  const message = "'fill' is declared in lib/pools.kmem: rename it there";
  assert.deepEqual(prepareRename(INCLUDING, at(INCLUDING, 'fill'), MAIN_FILE, HOST), { error: message });
  assert.equal(refusedWith(INCLUDING, at(INCLUDING, 'fill', 1), 'refill'), message);
  assert.match(refusedWith(INCLUDING, at(INCLUDING, 'shared'), 'common'), /'shared' is declared in lib\/pools\.kmem/);
  const edits = rename(INCLUDING, at(INCLUDING, 'pool', 1), 'objects', MAIN_FILE, HOST);
  assert.ok('edits' in edits);
  assert.deepEqual(where(edits.edits.map((e) => e.range)), ['2:4', '3:5', '4:5']);
  // Renaming to a name an included file declares collides with it there.
  assert.match(
    refusedWith(INCLUDING, at(INCLUDING, 'pool', 1), 'fill'),
    /already a procedure \(lib\/pools\.kmem, line 3\)/,
  );
  // A variable an included file uses: renaming it in this text alone would leave that use behind.
  const sized = 'let size = 64\ninclude "lib/sized.kmem"\nkfree(block)\n';
  assert.match(refusedWith(sized, at(sized, 'size'), 'bytes'), /unknown name 'size' \(lib\/sized\.kmem, line 1\)/);
  assert.equal(renamed(sized, at(sized, 'size'), 'bytes'), sized.replace('let size', 'let bytes'));
});

function refusedWith(source: string, position: Position, newName: string): string {
  const result = rename(source, position, newName, MAIN_FILE, HOST);
  assert.ok('error' in result, `rename to ${newName} accepted`);
  return result.error;
}
