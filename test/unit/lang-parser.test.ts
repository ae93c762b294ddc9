/*
 * The parser: statement shapes and ranges (whole statement and the head the debugger highlights),
 * C precedence, multi-line argument lists, the machine block, and the example script.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { Expr, ForStmt, LetStmt, MachineStmt, RepeatStmt } from '../../engine/lang/ast';
import { Range } from '../../engine/lang/diagnostics';
import { parse } from '../../engine/lang/parser';

const EXAMPLE = readFileSync(resolve(__dirname, '..', '..', 'examples', 'slab-growth.kmem'), 'utf8');

function r(sl: number, sc: number, el: number, ec: number): Range {
  return { start: { line: sl, character: sc }, end: { line: el, character: ec } };
}

/** An expression as a Lisp-like string: (+ 1 (* 2 3)). */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return String(e.value);
    case 'string':
      return JSON.stringify(e.value);
    case 'name':
      return e.name;
    case 'call':
      return `${e.callee.name}(${e.args.map(show).join(', ')})`;
    case 'unary':
      return `(${e.op}${show(e.operand)})`;
    case 'binary':
      return `(${e.op} ${show(e.left)} ${show(e.right)})`;
    case 'list':
      return `[${e.items.map(show).join(', ')}]`;
    case 'index':
      return `(index ${show(e.list)} ${show(e.index)})`;
    case 'pop':
      return `(pop ${show(e.list)})`;
    case 'error':
      return '<error>';
  }
}

function expr(source: string): string {
  const { script, diagnostics } = parse(`let x = ${source}`);
  assert.deepEqual(diagnostics, [], source);
  return show((script.statements[0] as LetStmt).init);
}

test('let: name, initialiser and ranges', () => {
  const { script, diagnostics } = parse('  let p = kmalloc(192, GFP_KERNEL)   # c\n');
  assert.deepEqual(diagnostics, []);
  const s = script.statements[0] as LetStmt;
  assert.equal(s.kind, 'let');
  assert.equal(s.name.name, 'p');
  assert.deepEqual(s.name.range, r(0, 6, 0, 7));
  assert.deepEqual(s.range, r(0, 2, 0, 34));
  assert.deepEqual(s.head, s.range);
  assert.equal(s.init.kind, 'call');
  assert.deepEqual(s.init.range, r(0, 10, 0, 34));
});

test('loops: the head is the header line, the range covers the body', () => {
  const { script, diagnostics } = parse('repeat 10 {\n  kfree(p)\n}\nfor i in 0..8 { kfree(p) }');
  assert.deepEqual(diagnostics, []);
  const rep = script.statements[0] as RepeatStmt;
  assert.equal(rep.kind, 'repeat');
  assert.deepEqual(rep.head, r(0, 0, 0, 9));
  assert.deepEqual(rep.range, r(0, 0, 2, 1));
  assert.equal(rep.body.statements.length, 1);
  assert.deepEqual(rep.body.statements[0]!.range, r(1, 2, 1, 10));
  const loop = script.statements[1] as ForStmt;
  assert.equal(loop.kind, 'for');
  assert.equal(loop.variable.name, 'i');
  assert.deepEqual(loop.variable.range, r(3, 4, 3, 5));
  assert.equal(show(loop.from), '0');
  assert.equal(show(loop.to), '8');
  assert.deepEqual(loop.head, r(3, 0, 3, 13));
  assert.deepEqual(loop.range, r(3, 0, 3, 26));
});

test('C precedence and associativity', () => {
  assert.equal(expr('1 + 2 * 3'), '(+ 1 (* 2 3))');
  assert.equal(expr('1 - 2 - 3'), '(- (- 1 2) 3)');
  assert.equal(expr('1 << 2 + 3'), '(<< 1 (+ 2 3))');
  assert.equal(expr('a & b == c'), '(& a (== b c))');
  assert.equal(expr('a | b ^ c & d'), '(| a (^ b (& c d)))');
  assert.equal(expr('a || b && c'), '(|| a (&& b c))');
  assert.equal(expr('a < b == c > d'), '(== (< a b) (> c d))');
  assert.equal(expr('-a * ~b % !c'), '(% (* (-a) (~b)) (!c))');
  assert.equal(expr('(1 + 2) * 3'), '(* (+ 1 2) 3)');
  assert.equal(expr('GFP_ATOMIC | __GFP_ZERO'), '(| GFP_ATOMIC __GFP_ZERO)');
  assert.equal(expr('f()'), 'f()');
  assert.equal(expr('- -1'), '(-(-1))');
});

test('parenthesised expressions take the range of their parentheses', () => {
  const { script } = parse('let x = (1 + 2) * 3');
  const init = (script.statements[0] as LetStmt).init;
  assert.equal(init.kind, 'binary');
  if (init.kind === 'binary') {
    assert.deepEqual(init.left.range, r(0, 8, 0, 15));
    assert.deepEqual(init.opRange, r(0, 16, 0, 17));
  }
});

test('newlines end statements, except inside parentheses', () => {
  const { script, diagnostics } = parse('let p = kmalloc(\n  192,\n  GFP_KERNEL\n)\nkfree(p); kfree(p)');
  assert.deepEqual(diagnostics, []);
  assert.equal(script.statements.length, 3);
  assert.deepEqual(script.statements[0]!.range, r(0, 0, 3, 1));
  assert.deepEqual(script.statements[2]!.range, r(4, 10, 4, 18));
});

test('assignments and call statements', () => {
  const { script, diagnostics } = parse('p = kmalloc(8, GFP_ATOMIC | __GFP_ZERO)\nkfree(p)');
  assert.deepEqual(diagnostics, []);
  assert.equal(script.statements[0]!.kind, 'assign');
  assert.equal(script.statements[1]!.kind, 'expr');
});

test('the machine block: entries with their ranges', () => {
  const { script, diagnostics } = parse('machine { memory 256M; cpus 2 }\nmachine {\n  memory 1G\n  cpus 4\n}');
  assert.deepEqual(diagnostics, []);
  const m = script.statements[0] as MachineStmt;
  assert.equal(m.kind, 'machine');
  assert.deepEqual(m.keyword, r(0, 0, 0, 7));
  assert.deepEqual(m.range, r(0, 0, 0, 31));
  assert.deepEqual(
    m.entries.map((e) => [e.name.name, show(e.value), e.range]),
    [
      ['memory', String(256 * 1024 * 1024), r(0, 10, 0, 21)],
      ['cpus', '2', r(0, 23, 0, 29)],
    ],
  );
  const multi = script.statements[1] as MachineStmt;
  assert.equal(multi.entries.length, 2);
  assert.deepEqual(multi.range, r(1, 0, 4, 1));
});

test('the example parses without a diagnostic', () => {
  const { script, diagnostics } = parse(EXAMPLE);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(
    script.statements.map((s) => s.kind),
    ['machine', 'let', 'let', 'expr', 'let', 'repeat', 'for', 'let', 'expr', 'expr', 'expr'],
  );
});

test('empty sources and blank statements', () => {
  for (const source of ['', '\n\n', '# only a comment', ';;;', 'repeat 3 { }', 'repeat 3 {\n\n}']) {
    assert.deepEqual(parse(source).diagnostics, [], JSON.stringify(source));
  }
});
