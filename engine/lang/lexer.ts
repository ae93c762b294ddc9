/*
 * The lexer: source text to tokens with exact ranges, in one pass that never throws.
 *
 * It tracks (line, lineStart) as it goes, so a position is `offset - lineStart` UTF-16 code units into
 * its line. Line breaks are "\n", "\r\n" or a lone "\r"; each becomes one Newline token whose range is
 * zero-width at the break (a diagnostic "found end of line" points at the end of the line, not across it).
 * The Eof token is zero-width at the end of the text.
 *
 * Lexical errors become diagnostics and the token stream goes on: a run of unreadable characters is one
 * Invalid token (one KM1001), a bad number is a Number token marked malformed (value 0), an unterminated
 * string is a String token marked malformed. The parser does not report again on malformed tokens, so one
 * typo gives one diagnostic.
 *
 * Numbers: decimal or 0x hex digits with `_` separators (not first, not last), then an optional unit
 * K, M or G (either case; powers of 1024, as the kernel's memparse). Values wider than 64 bits are errors.
 */

import { Diagnostic, Range, error } from './diagnostics';
import { RESERVED_WORDS, Token, TokenKind } from './tokens';
import { Value, fromBigInt } from '../vm/values';

export interface LexResult {
  readonly tokens: Token[];
  readonly diagnostics: Diagnostic[];
}

const U64_MAX = (1n << 64n) - 1n;
const UNIT_SHIFT: Readonly<Record<string, bigint>> = { k: 10n, m: 20n, g: 30n };

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Space, tab, vertical tab, form feed, byte order mark. */
function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 0xfeff;
}

const PUNCTUATION: ReadonlyArray<readonly [string, TokenKind]> = [
  ['<<', TokenKind.Shl],
  ['>>', TokenKind.Shr],
  ['<=', TokenKind.LtEq],
  ['>=', TokenKind.GtEq],
  ['==', TokenKind.EqEq],
  ['!=', TokenKind.NotEq],
  ['&&', TokenKind.AmpAmp],
  ['||', TokenKind.PipePipe],
  ['..', TokenKind.DotDot],
  ['(', TokenKind.LParen],
  [')', TokenKind.RParen],
  ['{', TokenKind.LBrace],
  ['[', TokenKind.LBracket],
  [']', TokenKind.RBracket],
  ['}', TokenKind.RBrace],
  [',', TokenKind.Comma],
  [';', TokenKind.Semicolon],
  ['.', TokenKind.Dot],
  ['=', TokenKind.Assign],
  ['+', TokenKind.Plus],
  ['-', TokenKind.Minus],
  ['*', TokenKind.Star],
  ['/', TokenKind.Slash],
  ['%', TokenKind.Percent],
  ['&', TokenKind.Amp],
  ['^', TokenKind.Caret],
  ['|', TokenKind.Pipe],
  ['~', TokenKind.Tilde],
  ['!', TokenKind.Bang],
  ['<', TokenKind.Lt],
  ['>', TokenKind.Gt],
];

/** Characters that can start a punctuation token. */
const PUNCT_START = new Set(PUNCTUATION.map(([text]) => text.charCodeAt(0)));
/** The punctuation by its characters' codes: two-character tokens first (c1 << 8 | c2), then one. */
const PUNCT_TWO = new Map(
  PUNCTUATION.filter(([t]) => t.length === 2).map(([t, k]) => [(t.charCodeAt(0) << 8) | t.charCodeAt(1), k]),
);
const PUNCT_ONE = new Map(PUNCTUATION.filter(([t]) => t.length === 1).map(([t, k]) => [t.charCodeAt(0), k]));

export function lex(source: string): LexResult {
  const tokens: Token[] = [];
  const diagnostics: Diagnostic[] = [];
  const n = source.length;
  let i = 0;
  let line = 0;
  let lineStart = 0;

  const rangeAt = (start: number, end: number): Range => ({
    start: { line, character: start - lineStart },
    end: { line, character: end - lineStart },
  });
  // Every token has the same fields (value and malformed undefined when unused): one object shape for the parser.
  const push = (
    kind: TokenKind,
    start: number,
    end: number,
    value?: Value | string,
    malformed?: boolean,
    range: Range = rangeAt(start, end),
  ): void => {
    tokens.push({ kind, text: source.slice(start, end), start, end, range, value, malformed });
  };
  /** Starts of a token: whitespace, newline, comment, a digit, a name, a string, punctuation. */
  const startsToken = (c: number): boolean =>
    isBlank(c) || c === 10 || c === 13 || c === 35 || c === 34 || isIdentPart(c) || PUNCT_START.has(c);

  while (i < n) {
    const c = source.charCodeAt(i);
    if (isBlank(c)) {
      i++;
    } else if (c === 10 || c === 13) {
      const len = c === 13 && source.charCodeAt(i + 1) === 10 ? 2 : 1;
      push(TokenKind.Newline, i, i + len, undefined, undefined, rangeAt(i, i));
      i += len;
      line++;
      lineStart = i;
    } else if (c === 35) {
      // '#' comment to the end of the line
      while (i < n && source.charCodeAt(i) !== 10 && source.charCodeAt(i) !== 13) i++;
    } else if (isDigit(c)) {
      i = lexNumber(i);
    } else if (isIdentStart(c)) {
      const start = i;
      while (i < n && isIdentPart(source.charCodeAt(i))) i++;
      const text = source.slice(start, i);
      push(RESERVED_WORDS.has(text) ? TokenKind.Keyword : TokenKind.Identifier, start, i);
    } else if (c === 34) {
      i = lexString(i);
    } else if (PUNCT_START.has(c)) {
      const two = i + 1 < n ? PUNCT_TWO.get((c << 8) | source.charCodeAt(i + 1)) : undefined;
      if (two !== undefined) {
        push(two, i, i + 2);
        i += 2;
      } else {
        push(PUNCT_ONE.get(c)!, i, i + 1);
        i += 1;
      }
    } else {
      const start = i;
      i++;
      while (i < n && !startsToken(source.charCodeAt(i))) i++;
      const text = source.slice(start, i);
      const what = [...text].length === 1 ? `character '${text}'` : `characters '${text}'`;
      const at = rangeAt(start, i);
      diagnostics.push(error('KM1001', `unexpected ${what}`, at));
      push(TokenKind.Invalid, start, i);
    }
  }
  push(TokenKind.Eof, n, n);
  return { tokens, diagnostics };

  function lexNumber(start: number): number {
    let j = start;
    let digits: string;
    let radixPrefix = '';
    let bad: string | undefined;
    if (source.charCodeAt(j) === 48 && (source.charCodeAt(j + 1) | 0x20) === 120) {
      // 0x / 0X
      j += 2;
      const from = j;
      while (j < n && (isHexDigit(source.charCodeAt(j)) || source.charCodeAt(j) === 95)) j++;
      digits = source.slice(from, j);
      radixPrefix = '0x';
    } else {
      const from = j;
      while (j < n && (isDigit(source.charCodeAt(j)) || source.charCodeAt(j) === 95)) j++;
      digits = source.slice(from, j);
    }
    let unit: bigint | undefined;
    const u = source.charCodeAt(j) | 0x20;
    if (u === 107 || u === 109 || u === 103) {
      unit = UNIT_SHIFT[String.fromCharCode(u)];
      j++;
    }
    // Letters or digits glued to the number make the whole run one bad number.
    if (j < n && isIdentPart(source.charCodeAt(j))) {
      while (j < n && isIdentPart(source.charCodeAt(j))) j++;
      bad = 'units are K, M and G (4K = 4096), and hex digits follow 0x';
    } else if (digits.length === 0 || digits.startsWith('_') || digits.endsWith('_')) {
      bad = digits.length === 0 ? 'no digits' : "'_' goes between digits";
    }
    const text = source.slice(start, j);
    let value: Value = 0;
    if (bad === undefined) {
      let v = BigInt(radixPrefix + digits.replaceAll('_', ''));
      if (unit !== undefined) v <<= unit;
      if (v > U64_MAX) {
        bad = 'it does not fit in 64 bits';
      } else {
        value = fromBigInt(v);
      }
    }
    if (bad !== undefined) {
      diagnostics.push(error('KM1004', `invalid number '${text}': ${bad}`, rangeAt(start, j)));
      push(TokenKind.Number, start, j, 0, true);
    } else {
      push(TokenKind.Number, start, j, value);
    }
    return j;
  }

  function lexString(start: number): number {
    let j = start + 1;
    let value = '';
    let malformed = false;
    for (;;) {
      if (j >= n || source.charCodeAt(j) === 10 || source.charCodeAt(j) === 13) {
        diagnostics.push(error('KM1002', 'unterminated string: add the closing "', rangeAt(start, j)));
        malformed = true;
        break;
      }
      const c = source[j]!;
      if (c === '"') {
        j++;
        break;
      }
      if (c === '\\') {
        const e = source[j + 1];
        const decoded = e === undefined ? undefined : ESCAPES[e];
        if (decoded === undefined) {
          const end = e === undefined || e === '\n' || e === '\r' ? j + 1 : j + 2;
          diagnostics.push(
            error(
              'KM1008',
              `invalid escape '${source.slice(j, end)}': use \\n \\t \\r \\0 \\\\ or \\"`,
              rangeAt(j, end),
            ),
          );
          malformed = true;
          j = end;
        } else {
          value += decoded;
          j += 2;
        }
        continue;
      }
      value += c;
      j++;
    }
    push(TokenKind.String, start, j, value, malformed ? true : undefined);
    return j;
  }
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', '"': '"' };
