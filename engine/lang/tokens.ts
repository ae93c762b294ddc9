/*
 * Tokens of the scenario language and its reserved words.
 *
 * Newlines are tokens (they end statements); comments and other whitespace are not. Every token carries
 * its source offsets and its range (0-based line/character in UTF-16 code units), so diagnostics and the
 * language service never recompute positions.
 *
 * Reserved words: the ones the grammar uses today (let, repeat, for, in, if, else, while, proc, return, expect, on, print, log, machine, push, pop, include) and the ones the full
 * language will need. None can name a variable; a reserved word where a statement starts is reported as
 * "reserved for a future statement", which keeps today's scripts valid when that statement arrives.
 */

import { Range } from './diagnostics';
import { Value } from '../vm/values';

export enum TokenKind {
  Eof,
  Newline,
  Identifier,
  Keyword,
  Number,
  String,
  /** A run of characters the lexer could not read (already reported as KM1001). */
  Invalid,
  LParen,
  RParen,
  LBrace,
  RBrace,
  LBracket,
  RBracket,
  Comma,
  Semicolon,
  Dot,
  DotDot,
  Assign,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Shl,
  Shr,
  Amp,
  Caret,
  Pipe,
  Tilde,
  Bang,
  AmpAmp,
  PipePipe,
  EqEq,
  NotEq,
  Lt,
  LtEq,
  Gt,
  GtEq,
}

export interface Token {
  readonly kind: TokenKind;
  /** The source text of the token. */
  readonly text: string;
  /** Offsets into the source, end exclusive. */
  readonly start: number;
  readonly end: number;
  readonly range: Range;
  /** Number: its value; String: its decoded contents. */
  readonly value?: Value | string;
  /** The lexer already reported a problem inside this token (bad number, unterminated string). */
  readonly malformed?: boolean;
}

/** Words with a meaning in today's grammar. */
export const ACTIVE_KEYWORDS: ReadonlySet<string> = new Set([
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
  'print',
  'log',
  'machine',
  'push',
  'pop',
  'include',
]);

/** Keywords that start a statement (`in` and `else` only continue one): in the machine block, one ends the block. */
export const STATEMENT_KEYWORDS: readonly string[] = [...ACTIVE_KEYWORDS].filter((w) => w !== 'in' && w !== 'else');

/** Words kept for statements the language will grow (see docs/language.md, "How the language grows"). */
export const FUTURE_STATEMENT_WORDS: ReadonlySet<string> = new Set([
  'cache',
  'cpu',
  'irq',
  'softirq',
  'process',
  'every',
  'heap',
  'module',
  'store',
  'load',
  'atomic',
]);

/** Words kept for future values. */
export const FUTURE_VALUE_WORDS: ReadonlySet<string> = new Set(['true', 'false']);

/** Every reserved word: none of them can be a variable name. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  ...ACTIVE_KEYWORDS,
  ...FUTURE_STATEMENT_WORDS,
  ...FUTURE_VALUE_WORDS,
]);

/** How a token is named in "expected X, found Y" messages. */
export function describeToken(token: Token): string {
  switch (token.kind) {
    case TokenKind.Eof:
      return 'end of file';
    case TokenKind.Newline:
      return 'end of line';
    case TokenKind.Identifier:
      return `name '${token.text}'`;
    case TokenKind.Keyword:
      return `'${token.text}'`;
    case TokenKind.Number:
      return `number ${token.text}`;
    case TokenKind.String:
      return 'string';
    default:
      return `'${token.text}'`;
  }
}
