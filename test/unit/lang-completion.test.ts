/*
 * The language service's completions, hovers and signature help (engine/lang/completion.ts): each context
 * on real snippets of the language, scopes, broken text, positions out of range, a property test that no
 * text and no position makes them throw, one that the analyses kept between requests never change a
 * result, and a bound on the time a 10,000-line file takes.
 *
 * Cases mark the cursor with ‸ (removed before the request).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';

import {
  CompletionItem,
  completions,
  hover,
  resetLanguageServiceCache,
  signatureHelp,
} from '../../engine/lang/completion';
import { BUILTIN_FUNCTIONS, REPORT_KINDS } from '../../engine/lang/builtins';
import { Position } from '../../engine/lang/diagnostics';
import { MACHINE_ENTRIES } from '../../engine/lang/parser';
import { ACTIVE_KEYWORDS } from '../../engine/lang/tokens';

const FC_SEED = Number(process.env.FC_SEED ?? 4242);
const EXAMPLES = resolve(__dirname, '..', '..', 'examples');

/** Removes the ‸ marker; returns the clean source and the cursor's position. */
function cursor(text: string): { source: string; position: Position } {
  const at = text.indexOf('‸');
  assert.ok(at >= 0, `no cursor in ${text}`);
  const before = text.slice(0, at);
  const lines = before.split('\n');
  return {
    source: before + text.slice(at + 1),
    position: { line: lines.length - 1, character: lines[lines.length - 1]!.length },
  };
}

function complete(text: string): CompletionItem[] {
  const { source, position } = cursor(text);
  return completions(source, position, 'test.kmem');
}

function labels(text: string): string[] {
  return complete(text).map((i) => i.label);
}

/** The labels in the order an editor shows them (by sortText, then label). */
function ranked(text: string): string[] {
  return complete(text)
    .sort((a, b) => (a.sortText ?? a.label).localeCompare(b.sortText ?? b.label) || a.label.localeCompare(b.label))
    .map((i) => i.label);
}

function find(items: readonly CompletionItem[], label: string): CompletionItem {
  const found = items.find((i) => i.label === label);
  assert.ok(found, `no item ${label} in ${items.map((i) => i.label).join(' ')}`);
  return found;
}

function hoverAt(text: string): string | undefined {
  const { source, position } = cursor(text);
  return hover(source, position, 'test.kmem')?.contents;
}

function signatureAt(text: string): ReturnType<typeof signatureHelp> {
  const { source, position } = cursor(text);
  return signatureHelp(source, position);
}

const PROCS = [
  'machine { memory 256M; cpus 2 }',
  'let skb_cache = kmem_cache_create("skbuff_head", 232, 0, SLAB_HWCACHE_ALIGN)',
  'proc rx_packet(len) {',
  '  let data = kmalloc(len, GFP_ATOMIC)',
  '  return data',
  '}',
  'proc drop(p) {',
  '  kfree(p)',
  '}',
].join('\n');

// ---- statement starts -----------------------------------------------------------------------------

test('at the start of a top-level statement: keywords, builtins as call snippets, procedures, variables', () => {
  const items = complete(`${PROCS}\nlet total = 0\n‸`);
  const names = items.map((i) => i.label);
  for (const word of ['let', 'if', 'while', 'repeat', 'for', 'proc', 'expect', 'on', 'print', 'log']) {
    assert.ok(names.includes(word), word);
    assert.equal(find(items, word).kind, 'keyword');
  }
  assert.ok(!names.includes('return'), 'return is only offered inside a procedure');
  assert.ok(!names.includes('machine'), 'machine is only offered as the first statement');
  const kmalloc = find(items, 'kmalloc');
  assert.equal(kmalloc.kind, 'function');
  assert.equal(kmalloc.insertText, 'kmalloc(${1:size}, ${2:gfp})');
  assert.equal(kmalloc.detail, 'kmalloc(size, gfp)');
  assert.match(kmalloc.documentation ?? '', /kmalloc caches/);
  assert.equal(find(items, 'kfree').insertText, 'kfree(${1:ptr})', 'statements may call what returns nothing');
  assert.equal(
    find(items, 'kmem_cache_create').insertText,
    'kmem_cache_create("${1:name}", ${2:size}, ${3:align}, ${4:flags})',
  );
  assert.equal(find(items, 'rx_packet').kind, 'procedure');
  assert.equal(find(items, 'rx_packet').insertText, 'rx_packet(${1:len})');
  assert.equal(find(items, 'drop').detail, 'proc drop(p)');
  assert.equal(find(items, 'total').kind, 'variable');
  assert.equal(find(items, 'skb_cache').detail, 'let skb_cache (line 2)');
  assert.ok(!names.includes('data') && !names.includes('len') && !names.includes('p'), 'no procedure locals');
  assert.equal(find(items, 'let').insertText, 'let ${1:name} = $0');
  assert.equal(find(items, 'for').insertText, 'for ${1:i} in ${2:0}..${3:8} {\n\t$0\n}');
  assert.ok(
    items.every((i) => i.kind !== 'constant'),
    'a statement does not start with a constant',
  );
});

test('machine is offered only as the first statement; comments and blank lines may precede it', () => {
  assert.ok(labels('‸').includes('machine'));
  assert.ok(labels('# a scenario\n\n‸').includes('machine'));
  assert.ok(labels('# a scenario\nmach‸').includes('machine'));
  assert.equal(find(complete('‸'), 'machine').insertText, 'machine { memory ${1:256M}; cpus ${2:2} }');
  assert.ok(!labels('let a = 1\n‸').includes('machine'));
  assert.ok(!labels('repeat 2 {\n  ‸\n}').includes('machine'));
});

test('return only inside a procedure, proc only at the top level', () => {
  const inside = labels(`${PROCS}\nproc f(a, b) {\n  let c = a + b\n  ‸\n}`);
  assert.ok(inside.includes('return'));
  assert.ok(!inside.includes('proc'), 'procedures are defined at the top level only');
  assert.ok(inside.includes('a') && inside.includes('b') && inside.includes('c'), 'parameters and locals');
  assert.ok(inside.includes('skb_cache'), 'globals declared before the procedure');
  assert.ok(inside.includes('f'), 'a procedure may call itself');
  const nested = labels('proc f(n) {\n  repeat n {\n    ‸\n  }\n}');
  assert.ok(nested.includes('return') && nested.includes('n'));
  const loop = labels('repeat 3 {\n  ‸\n}');
  assert.ok(!loop.includes('return') && !loop.includes('proc'));
});

test('a statement after ";" and after "{" on the same line', () => {
  assert.ok(labels('let a = 1; ‸').includes('let'));
  assert.ok(labels('let a = 1; ‸').includes('a'));
  assert.ok(labels('repeat 2 { ‸ }').includes('kfree'));
});

// ---- scopes ---------------------------------------------------------------------------------------

test('variables in scope: blocks, loop variables, procedure frames, declaration order, shadowing', () => {
  const source = [
    'let a = 1',
    'for i in 0..8 {',
    '  let inner = kmalloc(64, GFP_KERNEL)',
    '  ‸',
    '}',
    'let later = 2',
  ].join('\n');
  const inLoop = complete(source);
  assert.deepEqual(
    inLoop.filter((i) => i.kind === 'variable').map((i) => i.label),
    ['a', 'i', 'inner'],
  );
  assert.equal(find(inLoop, 'i').detail, 'for i (loop variable, line 2)');
  const after = labels(['let a = 1', 'for i in 0..8 {', '  let inner = 1', '}', '‸'].join('\n'));
  assert.ok(after.includes('a') && !after.includes('i') && !after.includes('inner'), 'a closed block is gone');
  const before = labels(['‸', 'let later = 2'].join('\n'));
  assert.ok(!before.includes('later'), 'declared after the cursor');
  const own = labels('let size = 64\nlet p = kmalloc(‸');
  assert.ok(own.includes('size') && !own.includes('p'), 'a let does not see its own variable');
  const outside = labels('proc f(x) {\n  let local = x\n}\n‸');
  assert.ok(!outside.includes('x') && !outside.includes('local'), 'a frame ends with its procedure');
  const globalsAfter = labels('proc f(x) {\n  ‸\n}\nlet g = 1');
  assert.ok(!globalsAfter.includes('g'), 'globals declared after the definition are not visible in it');
  const shadow = complete('let n = 1\nrepeat 2 {\n  let n = 2\n  ‸\n}').filter((i) => i.label === 'n');
  assert.equal(shadow.length, 1, 'one item per name');
  assert.equal(shadow[0]!.detail, 'let n (line 3)', 'the innermost declaration');
});

test('a block without its closing brace still scopes what is typed in it', () => {
  const items = labels('let a = 1\nwhile a < 10 {\n  let b = 2\n  ‸');
  assert.ok(items.includes('a') && items.includes('b'));
  const params = labels('proc rx(len, gfp) {\n  let x = kmalloc(len, ‸');
  assert.ok(params.includes('len') && params.includes('gfp'));
});

test('procedures are offered after their definition only', () => {
  const names = labels('proc early() {\n  kfree(0)\n}\n‸\nproc late() {\n  kfree(0)\n}');
  assert.ok(names.includes('early') && !names.includes('late'));
});

// ---- expressions ----------------------------------------------------------------------------------

test('in an expression: variables, constants with their values, value-returning builtins and procedures', () => {
  const items = complete(`${PROCS}\nlet n = 3\nlet q = ‸`);
  const names = items.map((i) => i.label);
  assert.ok(names.includes('n') && names.includes('skb_cache'));
  assert.equal(find(items, 'GFP_KERNEL').kind, 'constant');
  assert.equal(find(items, 'GFP_KERNEL').detail, 'GFP_KERNEL = 0xcc0 (3264)');
  assert.equal(
    find(items, 'GFP_KERNEL').documentation,
    '__GFP_IO | __GFP_FS | __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM',
  );
  assert.equal(find(items, 'SLAB_HWCACHE_ALIGN').kind, 'constant');
  assert.equal(find(items, 'PROT_READ').detail, 'PROT_READ = 0x1 (1)');
  assert.ok(names.includes('kmalloc') && names.includes('ksize'), 'builtins that return a value');
  assert.ok(!names.includes('kfree') && !names.includes('kmem_cache_free'), 'no builtin without a value');
  assert.ok(names.includes('rx_packet') && !names.includes('drop'), 'only procedures that return a value');
  assert.ok(!names.includes('let') && !names.includes('if'), 'no statement keywords');
  assert.ok(!names.includes('q'), 'not the variable being declared');
});

test('expression positions: conditions, counts, ranges, operators, print items, return values', () => {
  for (const text of [
    'let p = 1\nif ‸',
    'let p = 1\nwhile p < ‸',
    'let p = 1\nrepeat ‸',
    'let p = 1\nfor i in ‸',
    'let p = 1\nfor i in 0..‸',
    'let p = 1\nprint "p =", ‸',
    'let p = 1\nlog ‸',
    'let p = 1\np = p + ‸',
    'let p = 1\nlet q = !‸',
    'let p = 1\nlet q = (‸',
    'let p = 1\non cpu ‸',
    'let p = 1\nproc f() {\n  return ‸\n}',
  ]) {
    const names = labels(text);
    assert.ok(names.includes('p') && names.includes('GFP_ATOMIC') && names.includes('ksize'), text);
  }
});

test('GFP_* constants come first where the argument is a gfp', () => {
  const first = (text: string): string[] => ranked(text).slice(0, 5);
  for (const text of [
    'let p = kmalloc(64, ‸',
    'let p = kmalloc(64, GFP_KERNEL | ‸',
    'let p = kzalloc(ksize(0), ‸)',
    'let c = kmem_cache_create("skb", 232, 0, 0)\nlet o = kmem_cache_alloc(c, ‸',
    'let pages = alloc_pages(2, ‸',
    'let p = kmalloc(\n  4K,\n  ‸',
  ]) {
    assert.ok(
      first(text).every((l) => /^(GFP_|__GFP_)/.test(l)),
      `${text}: ${first(text).join(' ')}`,
    );
  }
  assert.equal(ranked('let p = kmalloc(64, ‸')[0], 'GFP_ATOMIC', 'named masks before single bits');
  assert.ok(!/GFP/.test(ranked('let n = 8\nlet p = kmalloc(‸')[0]!), 'the size is no gfp');
  assert.equal(ranked('let n = 8\nlet p = kmalloc(‸')[0], 'n');
  assert.match(ranked('let c = kmem_cache_create("skb", 232, 0, ‸')[0]!, /^SLAB_/);
  assert.match(ranked('let t = spawn("t")\nmmap(t, 0x400000, 64K, ‸')[0]!, /^PROT_/);
  assert.match(ranked('let h = heap_create(‸')[0]!, /^HEAP_/);
});

test('a string argument proposes a literal; a callback argument proposes procedures of one parameter', () => {
  assert.equal(find(complete('let c = kmem_cache_create(‸'), '"name"').insertText, '"${1:name}"');
  const ctor = complete(
    'proc init_once(obj) {\n  write64(obj, 0)\n}\nproc two(a, b) {\n  kfree(a)\n}\n' +
      'let c = kmem_cache_create("skb", 232, 0, 0, ‸',
  );
  assert.deepEqual(
    ctor.map((i) => i.label),
    ['init_once'],
  );
  assert.equal(ctor[0]!.insertText, 'init_once');
});

// ---- machine block, expect, on, else ----------------------------------------------------------------

test('in the machine block: the entries not yet set, with their meaning and values', () => {
  const items = complete('machine {\n  memory 1G\n  ‸\n  kasan y\n}');
  const names = items.map((i) => i.label);
  assert.deepEqual(
    names,
    MACHINE_ENTRIES.filter((e) => e !== 'memory' && e !== 'kasan'),
  );
  assert.ok(items.every((i) => i.kind === 'machine-entry' && i.detail && i.documentation));
  assert.equal(find(items, 'cpus').detail, 'cpus N');
  assert.equal(find(items, 'kmemleak').detail, 'kmemleak y | n');
  assert.equal(find(items, 'kmemleak').insertText, 'kmemleak ${1|y,n|}');
  assert.match(find(items, 'kfence').documentation!, /sample_interval/);
  assert.deepEqual(labels('machine { memory 256M; ‸ }').includes('memory'), false);
  assert.ok(labels('machine { ‸').includes('memory'), 'an open machine block at the end of the file');
  assert.deepEqual(labels('machine {\n  kasan ‸\n}'), ['y', 'n']);
  assert.deepEqual(labels('machine { arch ‸ }'), ['x86_64', 'x86_64-la57', 'sv39', 'sv48']);
  assert.ok(labels('machine { memory ‸ }').includes('256M'));
  assert.deepEqual(labels('machine { memory 256M ‸ }'), [], 'after a value: nothing');
  assert.ok(labels('machine {\n  memory 1G\nlet x = 1\n‸').includes('let'), 'an open block ends at a statement');
  assert.deepEqual(labels('machine ‸'), ['{ memory 256M; cpus 2 }']);
});

test('after expect: the report kinds as block snippets, and expressions', () => {
  const items = complete('let p = kmalloc(64, GFP_KERNEL)\nexpect ‸');
  for (const kind of REPORT_KINDS.keys()) {
    const it = find(items, kind);
    assert.equal(it.kind, 'report-kind');
    assert.equal(it.insertText, `${kind} {\n\t$0\n}`);
    assert.equal(it.detail, `expect ${kind} { }`);
  }
  assert.ok(items.some((i) => i.label === 'p') && items.some((i) => i.label === 'ksize'), 'expect cond');
  assert.equal(ranked('expect ‸')[0], 'kasan');
});

test('after on: cpu N, irq, softirq', () => {
  const items = complete('on ‸');
  assert.deepEqual(
    items.map((i) => i.label),
    ['cpu', 'irq', 'softirq'],
  );
  assert.equal(items[0]!.insertText, 'cpu ${1:1} {\n\t$0\n}');
  assert.equal(items[1]!.insertText, 'irq {\n\t$0\n}');
  assert.deepEqual(labels('on irq ‸'), [], 'then a block');
});

test('after the "}" of an if: else and else if; after else: if; after for NAME: in', () => {
  assert.deepEqual(labels('if 1 {\n  kfree(0)\n} ‸'), ['else', 'else if']);
  assert.deepEqual(labels('if 1 {\n} else if 2 {\n} ‸'), ['else', 'else if']);
  assert.deepEqual(labels('repeat 2 {\n} ‸'), [], 'a loop has no else');
  assert.deepEqual(labels('if 1 {\n} else ‸'), ['if']);
  assert.deepEqual(labels('for i ‸'), ['in']);
});

test('nothing where a name is declared, after a complete operand, in comments, strings and numbers', () => {
  for (const text of [
    'let ‸',
    'let pa‸',
    'for ‸',
    'proc ‸',
    'proc f(‸',
    'proc f(a, ‸',
    'let p = kmalloc(64, GFP_KERNEL) ‸',
    'let n = 12‸',
    'let n = 0x1f‸',
    '# kmalloc ‸',
    'let p = 1 # then ‸',
    'print "p = ‸',
    'let c = kmem_cache_create("sk‸b", 64, 0, 0)',
  ]) {
    assert.deepEqual(labels(text), [], text);
  }
});

// ---- broken text and odd positions ----------------------------------------------------------------

test('broken text around the cursor: unclosed calls, strings and blocks, stray braces', () => {
  assert.ok(labels('let a = kmalloc(8,\nlet b = 1\n‸').includes('b'), 'an open call ends at a statement');
  assert.ok(labels('let s = "unterminated\nlet b = 1\n‸').includes('b'));
  assert.ok(labels('}\n}\nlet b = 1\n‸').includes('let'));
  assert.ok(labels('let = = 1\n‸').includes('let'));
  assert.ok(labels('let a = 1 +\n‸').includes('let'), 'outside parentheses a line break ends the statement');
  assert.ok(
    labels('let p = kmalloc(64, GFP_KERNEL\nkfree(‸').includes('p'),
    'a call after an operand starts a statement',
  );
  assert.equal(signatureAt('let p = kmalloc(64, GFP_KERNEL\nkfree(‸')?.label, 'kfree(ptr)');
  assert.equal(signatureAt('let p = kmalloc(64,\n  ksize(‸')?.label, 'ksize(ptr)', 'an argument on the next line');
  assert.ok(labels('cache x 1 {\n}\n‸').includes('let'), 'after a reserved word');
});

test('positions past the end, negative or not numbers clamp; any text at all', () => {
  const source = 'let a = 1\nlet b = ';
  const end = completions(source, { line: 1, character: 8 });
  assert.deepEqual(completions(source, { line: 1, character: 500 }), end);
  assert.deepEqual(completions(source, { line: 40, character: 0 }), end);
  assert.deepEqual(completions(source, { line: Infinity, character: Infinity }), end);
  assert.deepEqual(completions(source, { line: -3, character: -1 }), completions(source, { line: 0, character: 0 }));
  assert.ok(completions(source, { line: NaN, character: NaN }).some((i) => i.label === 'let'));
  assert.ok(completions('', { line: 0, character: 0 }).some((i) => i.label === 'machine'));
  assert.deepEqual(
    completions(undefined as unknown as string, { line: 0, character: 0 }),
    completions('', { line: 0, character: 0 }),
  );
  assert.deepEqual(hover('let a = 1', { line: 99, character: 99 }), hover('let a = 1', { line: 0, character: 9 }));
  assert.equal(hover('let a = 1\n', { line: 99, character: 99 }), undefined);
  assert.equal(signatureHelp('kmalloc(', { line: 5, character: 5 })?.label, 'kmalloc(size, gfp)');
  assert.equal(hover('let a = 1\r\nlet b = a', { line: 1, character: 8 })?.range.start.line, 1);
  assert.ok(completions('let a = 1\r\nlet b = a\rlet c = ', { line: 2, character: 8 }).some((i) => i.label === 'b'));
});

// ---- hover ----------------------------------------------------------------------------------------

test('hover on a builtin function: its signature and summary', () => {
  const text = hoverAt('let p = kmal‸loc(64, GFP_KERNEL)');
  assert.ok(text?.includes('kmalloc(size, gfp)'));
  assert.ok(text?.includes(BUILTIN_FUNCTIONS.get('kmalloc')!.summary));
  assert.match(hoverAt('kfree‸(0)')!, /Returns no value/);
  assert.ok(
    hoverAt('let c = kmem_cache_‸create("x", 64, 0, 0)')!.includes(
      'kmem_cache_create(name, size, align, flags[, ctor])',
    ),
  );
  const { source } = cursor('let p = kmalloc‸(64, GFP_KERNEL)');
  assert.deepEqual(hover(source, { line: 0, character: 11 })?.range, {
    start: { line: 0, character: 8 },
    end: { line: 0, character: 15 },
  });
  assert.ok(hoverAt('let p = kmalloc‸(64, GFP_KERNEL)')?.includes('kmalloc(size, gfp)'), 'at the end of the word');
});

test('hover on a constant: value in hex and decimal, and the GFP bits it is made of', () => {
  const text = hoverAt('let p = kmalloc(64, GFP_KER‸NEL)')!;
  assert.ok(text.includes('GFP_KERNEL = 0xcc0'));
  assert.ok(text.includes('3264'));
  assert.ok(text.includes('__GFP_IO | __GFP_FS | __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM'));
  const atomic = hoverAt('let p = kmalloc(64, GFP_ATOM‸IC)')!;
  assert.ok(atomic.includes('GFP_ATOMIC = 0x820') && atomic.includes('__GFP_HIGH | __GFP_KSWAPD_RECLAIM'));
  const bit = hoverAt('let p = kmalloc(64, __GFP_ZE‸RO)')!;
  assert.ok(bit.includes('__GFP_ZERO = 0x100') && bit.includes('256') && !bit.includes('Made of'));
  const slab = hoverAt('let c = kmem_cache_create("x", 64, 0, SLAB_HWCACHE‸_ALIGN)')!;
  assert.ok(slab.includes('SLAB_HWCACHE_ALIGN = 0x'));
  assert.ok(hoverAt('let x = PROT_WR‸ITE')!.includes('PROT_WRITE = 0x2'));
});

test('hover on a variable: where it is declared, a parameter, a loop variable', () => {
  const source = [
    'let total = 0', // 1
    'proc rx(len) {', // 2
    '  let data = kmalloc(len, GFP_ATOMIC)', // 3
    '  return data', // 4
    '}', // 5
    'for i in 0..4 {', // 6
    '  total = total + rx(i)', // 7
    '}', // 8
  ];
  const at = (line: number, character: number): string | undefined =>
    hover(source.join('\n'), { line, character })?.contents;
  assert.match(at(0, 5)!, /let total[\s\S]*declared at line 1, a top-level variable/);
  assert.match(at(6, 4)!, /let total[\s\S]*line 1/, 'at a use, as the assignment target');
  assert.match(at(6, 12)!, /line 1/, 'at a use in an expression');
  assert.match(at(1, 9)!, /Parameter 1 of `proc rx\(len\)`/);
  assert.match(at(2, 22)!, /Parameter 1 of `proc rx\(len\)`/, 'at a use of the parameter');
  assert.match(at(3, 10)!, /let data[\s\S]*line 3, a local of `proc rx`/);
  assert.match(at(5, 4)!, /Loop variable of the `for` at line 6/);
  assert.match(at(6, 21)!, /Loop variable/);
  assert.match(at(6, 20)!, /proc rx\(len\)[\s\S]*parameter `len`; returns a value/, 'a procedure');
  assert.match(at(1, 6)!, /Procedure defined at line 2/, 'at its definition');
  assert.match(hoverAt('let a = 1\nrepeat 2 {\n  let ‸b = a\n}')!, /local to its block/);
});

test('hover on machine entries, keywords, report kinds, numbers', () => {
  assert.match(hoverAt('machine { kas‸an y }')!, /kasan y \| n[\s\S]*CONFIG_KASAN/);
  assert.match(hoverAt('machine {\n  mem‸ory 1G\n}')!, /16M \.\. 64G/);
  for (const entry of MACHINE_ENTRIES) {
    assert.match(hoverAt(`machine { ${entry.slice(0, 2)}‸${entry.slice(2)} 1 }`)!, /Machine entry/, entry);
  }
  for (const word of [...ACTIVE_KEYWORDS, 'cpu', 'irq', 'softirq']) {
    const text = hover(`${word} `, { line: 0, character: 1 })?.contents ?? '';
    assert.ok(text.startsWith(`**${word}**: `), word);
    assert.ok(!text.includes('Reserved'), word);
  }
  assert.match(hover('cache', { line: 0, character: 1 })!.contents, /Reserved for a future statement/);
  assert.match(hover('let t = true', { line: 0, character: 9 })!.contents, /write 1 or 0/);
  const kasan = hoverAt('machine { kasan y }\nexpect kas‸an {\n  kfree(0)\n}')!;
  assert.match(kasan, /expect kasan \{ \.\.\. \}[\s\S]*KASAN report[\s\S]*KM5002/);
  for (const kind of REPORT_KINDS.keys()) {
    assert.match(hover(`expect ${kind} {\n}`, { line: 0, character: 8 })!.contents, /must make/, kind);
  }
  assert.match(hoverAt('expect ka‸sn {\n}')!, /no report kind/);
  assert.match(hoverAt('let x = 4‸K')!, /4096 = 0x1000/);
});

test('hover is undefined on blanks, comments, strings, operators and unknown names', () => {
  assert.equal(hoverAt('let p  ‸ = 1'), undefined);
  assert.equal(hoverAt('let p = 1 ‸'), undefined);
  assert.equal(hoverAt('let p = 1 # kmal‸loc'), undefined);
  assert.equal(hoverAt('print "kmal‸loc"'), undefined);
  assert.equal(hoverAt('let p = 1 +‸ 2'), undefined);
  assert.equal(hoverAt('let p = nob‸ody'), undefined);
  assert.equal(hoverAt('‸'), undefined);
  assert.equal(hoverAt('\n‸\n'), undefined);
});

// ---- signature help -------------------------------------------------------------------------------

test('signature help inside a builtin call: label, parameters, the active one', () => {
  const help = signatureAt('let p = kmalloc(64, ‸');
  assert.deepEqual(help, {
    label: 'kmalloc(size, gfp)',
    parameters: ['size', 'gfp'],
    activeParameter: 1,
    documentation: BUILTIN_FUNCTIONS.get('kmalloc')!.summary,
  });
  assert.equal(signatureAt('let p = kmalloc(‸')?.activeParameter, 0);
  assert.equal(signatureAt('let p = kmalloc(‸64, GFP_KERNEL)')?.activeParameter, 0);
  assert.equal(signatureAt('mmap(p, 0x400000, 64K, ‸')?.activeParameter, 3);
  assert.equal(signatureAt('let c = kmem_cache_create("a, b", ‸')?.activeParameter, 1, 'commas in a string');
  const create = signatureAt('let c = kmem_cache_create(‸');
  assert.deepEqual(create?.parameters, ['name', 'size', 'align', 'flags', 'ctor']);
  assert.equal(create?.label, 'kmem_cache_create(name, size, align, flags[, ctor])');
});

test('signature help resolves nested calls to the innermost and skips grouping parentheses', () => {
  assert.equal(signatureAt('let p = kmalloc(ksize(‸')?.label, 'ksize(ptr)');
  assert.equal(signatureAt('let p = kmalloc(ksize(q), ‸')?.label, 'kmalloc(size, gfp)');
  assert.equal(signatureAt('let p = kmalloc(ksize(q), ‸')?.activeParameter, 1);
  assert.equal(signatureAt('let p = kmalloc((1 + ‸')?.label, 'kmalloc(size, gfp)');
  assert.equal(signatureAt('let p = kmalloc(8, (GFP_KERNEL | ‸')?.activeParameter, 1);
  assert.equal(signatureAt('let p = kmalloc(kmalloc_array(2, ‸, 0), 0)')?.label, 'kmalloc_array(n, size, gfp)');
  assert.equal(signatureAt('let p = kmalloc(\n  4K,\n  ‸\n)')?.activeParameter, 1, 'over several lines');
});

test('signature help for procedures; undefined outside calls', () => {
  const source = 'proc rx(len, gfp) {\n  return kmalloc(len, gfp)\n}\nlet p = rx(1500, ‸';
  assert.deepEqual(signatureAt(source), {
    label: 'rx(len, gfp)',
    parameters: ['len', 'gfp'],
    activeParameter: 1,
    documentation: 'Procedure defined at line 1; returns a value.',
  });
  assert.equal(signatureAt('let p = kmalloc(64, GFP_KERNEL)‸'), undefined, 'after the call');
  assert.equal(signatureAt('let p = ‸kmalloc(64, GFP_KERNEL)'), undefined, 'before the call');
  assert.equal(signatureAt('let p = (1 + ‸'), undefined, 'a grouping');
  assert.equal(signatureAt('proc f(a, ‸'), undefined, 'a parameter list');
  assert.equal(signatureAt('let p = nosuch(‸'), undefined, 'unknown function');
  assert.equal(signatureAt('let p = later(‸\nproc later(a) {\n}'), undefined, 'defined after the call');
  assert.equal(signatureAt('kmalloc(8,\nlet x = ‸'), undefined, 'an open call ends at a statement');
  assert.equal(signatureAt('kmalloc(8, # a comment‸'), undefined);
});

// ---- every example, properties, time --------------------------------------------------------------

test('the examples: completions at every line end, hover on every token, signature help everywhere', () => {
  for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith('.kmem'))) {
    const source = readFileSync(resolve(EXAMPLES, file), 'utf8');
    const lines = source.split('\n');
    lines.forEach((text, line) => {
      for (const character of [0, Math.floor(text.length / 2), text.length]) {
        const items = completions(source, { line, character }, file);
        for (const i of items) assert.ok(i.label && i.kind, `${file}:${line + 1}`);
        signatureHelp(source, { line, character });
      }
      for (let character = 0; character < text.length; character += 3) hover(source, { line, character }, file);
    });
  }
  const kasan = readFileSync(resolve(EXAMPLES, 'kasan-oob.kmem'), 'utf8').split('\n');
  const line = kasan.findIndex((l) => l.startsWith('expect kasan'));
  assert.match(hover(kasan.join('\n'), { line, character: 8 })!.contents, /KASAN report/);
});

/** Fragments of the language, for random texts. */
const VOCABULARY = [
  ...'let x p = kmalloc ( ) , 64 GFP_KERNEL | { } repeat for i in 0..8 proc f return if else while'.split(' '),
  ...'expect kasan on cpu irq print "s" "open machine memory 256M cpus ; # + .. kfree § \\'.split(' '),
  '\n',
  '\r\n',
  ' ',
];

function soup(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.array(fc.constantFrom(...VOCABULARY), { maxLength: 60 }).map((parts) => parts.join(' ')),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
}

const positionArb: fc.Arbitrary<Position> = fc.record({
  line: fc.oneof(fc.nat(12), fc.integer({ min: -5, max: 1000 }), fc.constantFrom(NaN, Infinity)),
  character: fc.oneof(fc.nat(40), fc.integer({ min: -5, max: 1000 }), fc.constantFrom(NaN, Infinity)),
});

test('random text and random positions never throw', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  fc.assert(
    fc.property(soup(), positionArb, (source, position) => {
      const items = completions(source, position);
      for (const i of items) assert.ok(typeof i.label === 'string' && i.label.length > 0);
      const h = hover(source, position);
      if (h) assert.ok(h.contents.length > 0 && h.range.start.line >= 0);
      const s = signatureHelp(source, position);
      if (s) assert.ok(s.activeParameter >= 0 && s.label.includes('('));
    }),
    { seed: FC_SEED, numRuns: 600 },
  );
});

/** The position of an offset (line breaks as the lexer reads them). */
function positionOf(text: string, offset: number): Position {
  const before = text.slice(0, offset).split(/\r\n|\r|\n/);
  return { line: before.length - 1, character: before[before.length - 1]!.length };
}

test('the analyses kept between requests never change a result: edits, warm and cold', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  const bases = ['module-leak.kmem', 'kasan-oob.kmem', 'fork-cow.kmem'].map((f) =>
    readFileSync(resolve(EXAMPLES, f), 'utf8'),
  );
  bases.push(`${PROCS}\nlet n = rx_packet(64)\nfor i in 0..n {\n  drop(i)\n}\n`);
  const edit = fc.record({
    at: fc.nat(),
    remove: fc.nat(8),
    text: fc.constantFrom('', 'l', 'let', 'let z = ', 'kmalloc(', '}', '{', '\n', 'proc g(a) {\n', '\n}', ')', 'n = '),
  });
  fc.assert(
    fc.property(
      fc.oneof(fc.constantFrom(...bases), soup()),
      fc.array(edit, { minLength: 1, maxLength: 5 }),
      positionArb,
      (base, edits, position) => {
        // Warm the kept analyses with the text before the edits (a completion at its end, a hover), then ask
        // about each edited text as typing would, and compare with the answers of a cold start.
        resetLanguageServiceCache();
        completions(base, { line: Infinity, character: 0 });
        hover(base, { line: 0, character: 0 });
        let text = base;
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          text = text.slice(0, at) + e.text + text.slice(at + e.remove);
          for (const p of [positionOf(text, at + e.text.length), position]) {
            const warm = { c: completions(text, p), s: signatureHelp(text, p), h: hover(text, p) };
            const kept = { c: completions(text, p), s: signatureHelp(text, p), h: hover(text, p) };
            resetLanguageServiceCache();
            const cold = { c: completions(text, p), s: signatureHelp(text, p), h: hover(text, p) };
            assert.deepEqual(warm, cold, `${JSON.stringify(p)} in\n${text}`);
            assert.deepEqual(kept, cold);
            completions(base, { line: Infinity, character: 0 }); // warm again for the next edit
          }
        }
      },
    ),
    { seed: FC_SEED, numRuns: 80 },
  );
});

test('a 10,000-line file: completions, hover and signature help stay fast', () => {
  const lines = ['machine { memory 256M; cpus 2 }'];
  for (let i = 0; lines.length < 10_000; i++) {
    lines.push(
      `let p${i} = kmalloc(${i + 1}, GFP_KERNEL | __GFP_ZERO)`,
      'repeat 3 {',
      '  let q = kzalloc(64, GFP_ATOMIC)',
      '  kfree(q)',
      '}',
    );
  }
  lines.push('proc tail(n) {', '  let last = kmalloc(n, ');
  const source = lines.join('\n');
  const end = { line: lines.length - 1, character: lines[lines.length - 1]!.length };
  // Cold: nothing kept from an earlier request (the better of two runs, so a pause of the machine does not fail it).
  let cold = Infinity;
  let items: CompletionItem[] = [];
  for (let run = 0; run < 2; run++) {
    resetLanguageServiceCache();
    const t = performance.now();
    items = completions(source, end);
    cold = Math.min(cold, performance.now() - t);
  }
  assert.ok(items.some((i) => i.label === 'p1999') && items.some((i) => i.label === 'n'));
  assert.ok(cold < 1000, `cold completion took ${cold.toFixed(0)} ms`);
  // Typing on: each keystroke is a new text; the analysis of the lines above is reused.
  let t0 = performance.now();
  let typed = source;
  for (const ch of 'GFP_') {
    typed += ch;
    const more = completions(typed, { line: end.line, character: end.character + 4 });
    assert.ok(more.length > 0);
  }
  const warm = (performance.now() - t0) / 4;
  assert.ok(warm < 1000, `a keystroke took ${warm.toFixed(0)} ms`);
  t0 = performance.now();
  assert.equal(signatureHelp(typed, { line: end.line, character: end.character + 4 })?.activeParameter, 1);
  assert.match(hover(typed, { line: 5001, character: 5 })!.contents, /let p1000[\s\S]*line 5002/);
  assert.ok(performance.now() - t0 < 2000);
});
