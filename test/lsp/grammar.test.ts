/*
 * The TextMate grammar (syntaxes/kmem.tmLanguage.json): valid JSON, every regex compiles in
 * JavaScript, every include resolves, and a regex-level tokenizer (./tmTokenize.ts) gives the
 * example's words the scopes a theme colours: builtins as support.function, GFP masks as constants,
 * keywords as keyword/storage, machine entries as property names, comments as comments.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BUILTIN_CONSTANTS, BUILTIN_FUNCTIONS } from '../../engine/lang/builtins';
import { RESERVED_WORDS } from '../../engine/lang/tokens';
import { includes, regexSources, Tokenizer, type Grammar, type Token } from './tmTokenize';

const root = new URL('../../', import.meta.url);
const readText = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const grammar = JSON.parse(readText('syntaxes/kmem.tmLanguage.json')) as Grammar;
const tokenizer = new Tokenizer(grammar);

/**
 * The scopes of `word` (its `nth` occurrence) in `line`; asserts the whole word is one token unless
 * `within` (then the word may sit inside a longer token, as in a comment).
 */
function scopesOf(tokens: Token[], line: string, word: string, nth = 0, within = false): string[] {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = line.indexOf(word, at + 1);
  }
  assert.ok(at >= 0, `"${word}" not in "${line}"`);
  const token = tokens.find((t) => t.start <= at && at < t.start + t.text.length);
  assert.ok(token, `no token at ${at} in "${line}"`);
  if (within) {
    assert.ok(token.start + token.text.length >= at + word.length, `"${word}" spans tokens in "${line}"`);
    return token.scopes;
  }
  assert.equal(token.start, at, `"${word}" starts inside token "${token.text}" in "${line}"`);
  assert.equal(token.text, word, `"${word}" is tokenized as "${token.text}" in "${line}"`);
  return token.scopes;
}

function scopesOfLine(line: string, word: string, nth = 0): string[] {
  return scopesOf(tokenizer.tokenize([line])[0]!, line, word, nth);
}

const has = (scopes: string[], prefix: string): boolean => scopes.some((s) => s.startsWith(prefix));

function assertScope(line: string, word: string, prefix: string, nth = 0, within = false): void {
  const scopes = scopesOf(tokenizer.tokenize([line])[0]!, line, word, nth, within);
  assert.ok(has(scopes, prefix), `"${word}" in "${line}" has ${scopes.join(' ')}, expected ${prefix}*`);
}

describe('kmem TextMate grammar', () => {
  it('names the language source.kmem', () => {
    assert.equal(grammar.scopeName, 'source.kmem');
    assert.ok(Array.isArray(grammar.patterns) && grammar.patterns.length > 0);
  });

  it('compiles every match/begin/end regex in JavaScript', () => {
    const sources = regexSources(grammar);
    assert.ok(sources.length > 20, `only ${sources.length} regexes found`);
    const broken = sources.flatMap(({ where, source }) => {
      try {
        new RegExp(source);
        return [];
      } catch (error) {
        return [`${where}: ${(error as Error).message}`];
      }
    });
    assert.deepEqual(broken, []);
  });

  it('resolves every include to a repository rule', () => {
    const names = Object.keys(grammar.repository ?? {});
    const missing = includes(grammar).filter((inc) => inc !== '$self' && !names.includes(inc.replace(/^#/, '')));
    assert.deepEqual(missing, []);
  });

  describe('on examples/slab-growth.kmem', () => {
    const lines = readText('examples/slab-growth.kmem').split(/\r?\n/);
    const tokens = tokenizer.tokenize(lines);
    const find = (text: string): number => {
      const index = lines.findIndex((l) => l.includes(text));
      assert.ok(index >= 0, `the example no longer has "${text}"`);
      return index;
    };
    const assertIn = (lineText: string, word: string, prefix: string, nth = 0, within = false): void => {
      const i = find(lineText);
      const scopes = scopesOf(tokens[i]!, lines[i]!, word, nth, within);
      assert.ok(has(scopes, prefix), `"${word}" in "${lines[i]}" has ${scopes.join(' ')}, expected ${prefix}*`);
    };

    it('matches kmalloc and kfree as support.function and GFP masks as constants', () => {
      assertIn('let first = kmalloc(150, GFP_KERNEL)', 'kmalloc', 'support.function');
      assertIn('let first = kmalloc(150, GFP_KERNEL)', 'GFP_KERNEL', 'support.constant');
      assertIn('kmalloc(1000, GFP_ATOMIC)', 'GFP_ATOMIC', 'support.constant');
      assertIn('kfree(first)', 'kfree', 'support.function');
    });

    it('scopes declarations, loops, numbers, ranges and comments', () => {
      assertIn('let first = kmalloc(150, GFP_KERNEL)', 'let', 'storage.type');
      assertIn('let first = kmalloc(150, GFP_KERNEL)', 'first', 'variable.other.definition');
      assertIn('let first = kmalloc(150, GFP_KERNEL)', '150', 'constant.numeric.decimal');
      assertIn('let first = kmalloc(150, GFP_KERNEL)', '=', 'keyword.operator.assignment');
      assertIn('let first = kmalloc(150, GFP_KERNEL)', '#', 'punctuation.definition.comment');
      assertIn('let first = kmalloc(150, GFP_KERNEL)', '129..192', 'comment.line.number-sign', 0, true);
      assertIn('repeat 50 {', 'repeat', 'keyword.control');
      assertIn('repeat 50 {', '{', 'punctuation.section.block.begin');
      assertIn('for i in 0..8 {', 'for', 'keyword.control');
      assertIn('for i in 0..8 {', 'in', 'keyword.control');
      assertIn('for i in 0..8 {', 'i', 'variable.other.definition');
      assertIn('for i in 0..8 {', '..', 'keyword.operator.range');
      assertIn('for i in 0..8 {', '8', 'constant.numeric');
    });

    it('scopes the machine block: keyword, entries, sizes with units', () => {
      assertIn('machine {', 'machine', 'storage.type');
      assertIn('machine {', 'memory', 'support.type.property-name');
      assertIn('machine {', 'cpus', 'support.type.property-name');
      assertIn('machine {', '256', 'constant.numeric.decimal');
      assertIn('machine {', 'M', 'keyword.other.unit');
      assertIn('machine {', ';', 'punctuation.terminator');
      assertIn('machine {', '}', 'meta.machine');
    });

    it('leaves no character outside a scope of its own', () => {
      const bare = tokens.flatMap((lineTokens, i) =>
        lineTokens
          .filter((t) => t.text.trim() !== '' && t.scopes.length < 2)
          .map((t) => `${i + 1}:${t.start + 1} "${t.text}"`),
      );
      assert.deepEqual(bare, []);
    });

    it('keeps keywords, builtins and constants inside comments as comment', () => {
      const i = find('Press F5');
      assert.ok(tokens[i]!.every((t) => has(t.scopes, 'comment.line')));
      assertIn('let big = kmalloc(20000, GFP_KERNEL)', 'kmalloc', 'support.function');
      assertIn('let big = kmalloc(20000, GFP_KERNEL)', 'order', 'comment.line', 0, true);
      assertIn('let again = kmalloc(160, GFP_KERNEL)', 'again', 'comment.line', 1, true);
    });
  });

  // The next three follow engine/lang: a word the language gains must be taught to the grammar too.
  it('scopes every builtin function of the language as support.function', () => {
    for (const name of BUILTIN_FUNCTIONS.keys()) {
      assertScope(`let p = ${name}(x)`, name, 'support.function');
    }
  });

  it('scopes every builtin constant (the GFP masks) as support.constant', () => {
    for (const name of BUILTIN_CONSTANTS.keys()) {
      assertScope(`let p = kmalloc(8, ${name} | __GFP_ZERO)`, name, 'support.constant');
    }
  });

  it('scopes every reserved word as keyword, storage or language constant', () => {
    for (const word of RESERVED_WORDS) {
      const scopes = scopesOfLine(`${word} x`, word);
      assert.ok(
        has(scopes, 'keyword.') || has(scopes, 'storage.') || has(scopes, 'constant.language'),
        `${word}: ${scopes.join(' ')}`,
      );
    }
  });

  it('tells control keywords from declarations', () => {
    for (const word of ['if', 'else', 'while', 'for', 'repeat', 'return']) {
      assertScope(`${word} x`, word, 'keyword.control');
    }
    for (const word of ['let', 'proc', 'machine', 'cache', 'heap']) {
      assertScope(`${word} x`, word, 'storage.type');
    }
  });

  it('scopes hex numbers, unit suffixes, strings, calls and C operators', () => {
    assertScope('let a = 0xffff888000000000', '0xffff888000000000', 'constant.numeric.hex');
    assertScope('let a = 0xffff_8880_0000_0000', '0xffff_8880_0000_0000', 'constant.numeric.hex');
    assertScope('let a = 0x10K', 'K', 'keyword.other.unit');
    assertScope('let a = 1_000_000', '1_000_000', 'constant.numeric.decimal');
    assertScope('let s = 64m', 'm', 'keyword.other.unit');
    assertScope('let s = 12Q + 1_', '12Q', 'invalid.illegal.numeric');
    assertScope('let s = 12Q + 1_', '1_', 'invalid.illegal.numeric');
    assertScope('let s = 4K', '4', 'constant.numeric.decimal');
    assertScope('let s = 4K', 'K', 'keyword.other.unit');
    assertScope('let s = 2G', 'G', 'keyword.other.unit');
    assertScope('print("a # not a comment")', '"', 'punctuation.definition.string.begin');
    assertScope('print("a # not a comment")', 'a # not a comment', 'string.quoted.double', 0, true);
    assertScope('print("tab\\t")', '\\t', 'constant.character.escape');
    assertScope('print("bad \\q")', '\\q', 'invalid.illegal.escape');
    assertScope('print("open', 'open', 'string.quoted.double', 0, true);
    assertScope('let q = grow(p)', 'grow', 'entity.name.function');
    assertScope('proc grow(n) { return n }', 'grow', 'entity.name.function');
    assertScope('let m = a << 2 | b & ~c', '<<', 'keyword.operator.bitwise');
    assertScope('let m = a << 2 | b & ~c', '|', 'keyword.operator.bitwise');
    assertScope('let m = a << 2 | b & ~c', '~', 'keyword.operator.bitwise');
    assertScope('if a <= b && c != d { }', '<=', 'keyword.operator.comparison');
    assertScope('if a <= b && c != d { }', '&&', 'keyword.operator.logical');
    assertScope('if a <= b && c != d { }', '!=', 'keyword.operator.comparison');
    assertScope('p += 8', '+=', 'keyword.operator.assignment');
    assertScope('let n = GFP_KERNELX', 'GFP_KERNELX', 'variable.other');
  });

  it('spans a machine block over several lines', () => {
    const lines = ['machine {', '  memory 1G   # plenty', '  cpus 4', '}', 'let memory = 1'];
    const tokens = tokenizer.tokenize(lines);
    assert.ok(has(scopesOf(tokens[1]!, lines[1]!, 'memory'), 'support.type.property-name'));
    assert.ok(has(scopesOf(tokens[2]!, lines[2]!, 'cpus'), 'support.type.property-name'));
    assert.ok(has(scopesOf(tokens[3]!, lines[3]!, '}'), 'punctuation.section.block.end'));
    assert.ok(!has(scopesOf(tokens[4]!, lines[4]!, 'memory'), 'support.type.property-name'));
  });

  it('ends an unterminated string at the end of its line', () => {
    const lines = ['print("open', 'let x = 1'];
    const tokens = tokenizer.tokenize(lines);
    assert.ok(has(scopesOf(tokens[1]!, lines[1]!, 'let'), 'storage.type'));
  });
});
