/*
 * The lexer: token kinds, exact ranges (0-based lines, UTF-16 characters), line breaks of every kind,
 * number literals and their values, and recovery from lexical errors.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { lex } from '../../engine/lang/lexer';
import { RESERVED_WORDS, Token, TokenKind } from '../../engine/lang/tokens';

/** Tokens as [kind name, text, "line:char-line:char"], without the Eof. */
function summary(source: string): [string, string, string][] {
  return lex(source)
    .tokens.filter((t) => t.kind !== TokenKind.Eof)
    .map((t) => [TokenKind[t.kind], t.text, at(t)]);
}

function at(t: Token): string {
  const r = t.range;
  return `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
}

test('tokens of a statement carry their exact ranges', () => {
  assert.deepEqual(summary('let p = kmalloc(192, GFP_KERNEL)  # comment'), [
    ['Keyword', 'let', '0:0-0:3'],
    ['Identifier', 'p', '0:4-0:5'],
    ['Assign', '=', '0:6-0:7'],
    ['Identifier', 'kmalloc', '0:8-0:15'],
    ['LParen', '(', '0:15-0:16'],
    ['Number', '192', '0:16-0:19'],
    ['Comma', ',', '0:19-0:20'],
    ['Identifier', 'GFP_KERNEL', '0:21-0:31'],
    ['RParen', ')', '0:31-0:32'],
  ]);
});

test('operators take the longest match', () => {
  const kinds = lex('<< >> <= >= == != && || .. . = < > & | ! ~ ^ % / * + -')
    .tokens.filter((t) => t.kind !== TokenKind.Eof)
    .map((t) => TokenKind[t.kind]);
  assert.deepEqual(kinds, [
    'Shl',
    'Shr',
    'LtEq',
    'GtEq',
    'EqEq',
    'NotEq',
    'AmpAmp',
    'PipePipe',
    'DotDot',
    'Dot',
    'Assign',
    'Lt',
    'Gt',
    'Amp',
    'Pipe',
    'Bang',
    'Tilde',
    'Caret',
    'Percent',
    'Slash',
    'Star',
    'Plus',
    'Minus',
  ]);
  assert.deepEqual(summary('0..8'), [
    ['Number', '0', '0:0-0:1'],
    ['DotDot', '..', '0:1-0:3'],
    ['Number', '8', '0:3-0:4'],
  ]);
});

test('LF, CRLF and a lone CR each end one line; newline tokens are zero-width at the break', () => {
  assert.deepEqual(summary('a\nb\r\nc\rd'), [
    ['Identifier', 'a', '0:0-0:1'],
    ['Newline', '\n', '0:1-0:1'],
    ['Identifier', 'b', '1:0-1:1'],
    ['Newline', '\r\n', '1:1-1:1'],
    ['Identifier', 'c', '2:0-2:1'],
    ['Newline', '\r', '2:1-2:1'],
    ['Identifier', 'd', '3:0-3:1'],
  ]);
  const eof = lex('x\n  ').tokens.at(-1)!;
  assert.equal(eof.kind, TokenKind.Eof);
  assert.deepEqual(eof.range, { start: { line: 1, character: 2 }, end: { line: 1, character: 2 } });
});

test('characters are counted in UTF-16 code units', () => {
  // '🙂' is two UTF-16 code units; 'é' is one.
  const tokens = summary('let s = "🙂é" # 🙂\nlet t = 1');
  assert.deepEqual(tokens[3], ['String', '"🙂é"', '0:8-0:13']);
  assert.deepEqual(tokens[5], ['Keyword', 'let', '1:0-1:3']);
  const { diagnostics } = lex('x = 🙂 + 1');
  assert.equal(diagnostics.length, 1);
  assert.equal(diagnostics[0]!.code, 'KM1001');
  assert.deepEqual(diagnostics[0]!.range, { start: { line: 0, character: 4 }, end: { line: 0, character: 6 } });
});

test('number literals: decimal, hex, separators, units', () => {
  const value = (text: string): unknown => {
    const r = lex(text);
    assert.deepEqual(r.diagnostics, [], text);
    return r.tokens[0]!.value;
  };
  assert.equal(value('0'), 0);
  assert.equal(value('007'), 7);
  assert.equal(value('1_000_000'), 1000000);
  assert.equal(value('0xff'), 255);
  assert.equal(value('0XFF'), 255);
  assert.equal(value('0xdead_beef'), 0xdeadbeef);
  assert.equal(value('4K'), 4096);
  assert.equal(value('4k'), 4096);
  assert.equal(value('2M'), 2 * 1024 * 1024);
  assert.equal(value('1G'), 1024 ** 3);
  assert.equal(value('64G'), 64 * 1024 ** 3);
  assert.equal(value('0x10K'), 16 * 1024);
  assert.equal(value('9007199254740991'), Number.MAX_SAFE_INTEGER);
  // Wider than 2^53: a 64-bit word (bigint).
  assert.equal(value('9007199254740992'), 9007199254740992n);
  assert.equal(value('0xffff888000000000'), 0xffff888000000000n);
  assert.equal(value('0xffff_ffff_ffff_ffff'), 0xffffffffffffffffn);
});

test('bad numbers are one KM1004 each, covering the whole literal, and lexing goes on', () => {
  for (const [text, end] of [
    ['12abc', 5],
    ['4KB', 3],
    ['0x', 2],
    ['1_', 2],
    ['0x_1', 4],
    ['0x1_0000_0000_0000_0000', 23],
    ['16777216T', 9],
  ] as const) {
    const r = lex(`${text} + 1`);
    assert.equal(r.diagnostics.length, 1, text);
    assert.equal(r.diagnostics[0]!.code, 'KM1004', text);
    assert.deepEqual(r.diagnostics[0]!.range, { start: { line: 0, character: 0 }, end: { line: 0, character: end } });
    assert.equal(r.tokens[0]!.kind, TokenKind.Number);
    assert.equal(r.tokens[0]!.malformed, true);
    assert.equal(r.tokens[1]!.kind, TokenKind.Plus, text);
  }
});

test('strings: escapes decoded, unterminated and bad escapes reported', () => {
  const ok = lex('"a\\n\\t\\\\\\"b"');
  assert.deepEqual(ok.diagnostics, []);
  assert.equal(ok.tokens[0]!.value, 'a\n\t\\"b');

  const open = lex('"abc\nx');
  assert.equal(open.diagnostics.length, 1);
  assert.equal(open.diagnostics[0]!.code, 'KM1002');
  assert.deepEqual(open.diagnostics[0]!.range, { start: { line: 0, character: 0 }, end: { line: 0, character: 4 } });
  assert.equal(open.tokens[1]!.kind, TokenKind.Newline);
  assert.equal(open.tokens[2]!.text, 'x');

  const bad = lex('"a\\qb"');
  assert.equal(bad.diagnostics.length, 1);
  assert.equal(bad.diagnostics[0]!.code, 'KM1008');
  assert.deepEqual(bad.diagnostics[0]!.range, { start: { line: 0, character: 2 }, end: { line: 0, character: 4 } });
});

test('a run of unreadable characters is one KM1001 and one Invalid token', () => {
  const r = lex('a $@` b');
  assert.equal(r.diagnostics.length, 1);
  assert.equal(r.diagnostics[0]!.code, 'KM1001');
  assert.match(r.diagnostics[0]!.message, /'\$@`'/);
  assert.deepEqual(summary('a $@` b')[1], ['Invalid', '$@`', '0:2-0:5']);
});

test('reserved words lex as keywords, other names as identifiers', () => {
  for (const word of RESERVED_WORDS) {
    assert.equal(lex(word).tokens[0]!.kind, TokenKind.Keyword, word);
  }
  for (const name of ['kmalloc', 'GFP_KERNEL', '__GFP_ZERO', 'lets', 'memory', 'cpus', '_x1']) {
    assert.equal(lex(name).tokens[0]!.kind, TokenKind.Identifier, name);
  }
});
