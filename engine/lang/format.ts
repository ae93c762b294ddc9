/*
 * The formatter: the canonical layout of a scenario, what `kmem fmt` and the editor's Format Document run.
 *
 * It prints the parsed Script again, walking the token stream alongside it: every token of the source comes
 * out, in order, as written (numbers keep their spelling, 4K, 0x1000 and 1_000 stay; strings are verbatim;
 * the author's parentheses stay, redundant ones included). Only whitespace, line breaks, the ";" between
 * statements and the trailing comma of an argument list change. Comments are not tokens (lexer.ts): they
 * are read back from the text between tokens and placed by the rules below.
 *
 * Layout:
 *   - 2 spaces per block level; one statement per line (`a(); b()` becomes two lines); "{" ends its header's
 *     line, "}" has a line of its own, `} else {` and `} else if cond {` are one line; an empty block with
 *     no comment inside is `{}`.
 *   - One space around binary operators and "=", after "," and keywords; none inside parentheses, after a
 *     unary operator, before the "(" of a call or around ".." (`for i in 0..8`). `arch x86_64-la57` keeps
 *     its name pair glued.
 *   - A call stays on one line (a trailing comma dropped) unless its source breaks the line right after
 *     "(" or has a comment inside the parentheses: then it takes the documented multi-line form, one
 *     argument per line one level deeper than the line of the "(", each with a comma, ")" on its own line.
 *   - The machine block stays on one line, `machine { memory 256M; cpus 2 }`, when it is written on one
 *     line, has at most MACHINE_INLINE_MAX_ENTRIES entries and no comment, and the line fits FORMAT_WIDTH
 *     columns; otherwise one entry per line. Empty, it is `machine {}`.
 *   - Nothing is wrapped for width: a line over FORMAT_WIDTH columns stays as long as it is.
 * Comments:
 *   - A full-line comment keeps a line of its own, at the indentation of where it stands (block level;
 *     argument level inside a multi-line call). One directly below a line that ends in a trailing comment,
 *     and indented further than that line's code, continues that comment (a hanging comment, as in
 *     examples/buddy-split.kmem): it keeps its column, shifted as far as the comment it continues moved
 *     (and never left of that line's code).
 *   - A trailing comment stays on the line of the token it follows, at its own column when the code leaves
 *     at least two spaces before it (so hand-aligned columns survive), else two spaces after the code; two
 *     spaces after the code too when its line was split off a longer one (`a(); b()  # c`).
 *   - A comment inside an expression (only possible inside parentheses) ends its line: the expression goes
 *     on, one level deeper, on the next; a "," after it moves up before the comment.
 * Blank lines between statements and comments of a block are kept, collapsed to one; none at the start or
 * end of a block or file. No trailing whitespace; exactly one final newline (an empty script stays empty);
 * line breaks are the source's first one ("\n" when it has none); a byte order mark is kept.
 *
 * Refusal: a script with lexer or parser diagnostics (KM1xxx, and the KM2005/KM2007 the parser reports when
 * it drops a reserved word or an unknown machine entry) is not formatted, since the parser's recovery loses
 * text; checker errors (names, placement) do not matter, the formatter never runs the checker.
 *
 * Invariants: the output parses with no diagnostic to the same Script modulo ranges and has the same
 * comments in the same order (checked on every call: a failure is a formatter bug and throws), and
 * formatting it again changes nothing. Idempotence holds by construction: the layout is decided by tokens
 * and comments, and the few decisions that read the source's own layout (blank lines, a break after "(",
 * a machine block on one line, comment columns) read what the output reproduces.
 */

import { Block, Expr, IfStmt, MachineEntry, MachineStmt, Script, Stmt } from './ast';
import { Diagnostic, Position, Range } from './diagnostics';
import { parse } from './parser';
import { Token, TokenKind } from './tokens';

/** Columns a line should fit in (the machine block's one-line form must). */
export const FORMAT_WIDTH = 120;

/** Entries the machine block may have and still stay on one line. */
export const MACHINE_INLINE_MAX_ENTRIES = 3;

/** Spaces per block level. */
const INDENT = 2;

/** The outcome of formatScript: the formatted text, or the syntax errors that prevented it. */
export type FormatResult = { ok: true; text: string; changed: boolean } | { ok: false; errors: Diagnostic[] };

/** A replacement of a source range (positions as in diagnostics.ts), as an editor applies it. */
export interface TextEdit {
  range: Range;
  newText: string;
}

/**
 * Formats a scenario. Refuses (ok: false, with the lexer's and parser's diagnostics) when the script has
 * syntax errors; otherwise returns the canonical text and whether it differs from `source`.
 */
export function formatScript(source: string): FormatResult {
  const parsed = parse(source);
  if (parsed.diagnostics.length > 0) {
    return { ok: false, errors: parsed.diagnostics };
  }
  const bom = source.startsWith('\ufeff') ? '\ufeff' : '';
  const body = source.slice(bom.length);
  const { script, tokens } = bom ? parse(body) : parsed;
  const formatted = new Printer(body, tokens).print(script);
  verify(body, tokens, script, formatted);
  const text = bom + formatted;
  return { ok: true, text, changed: text !== source };
}

/**
 * The edits that turn `source` into its formatted text: one per run of changed lines (a line diff), none
 * when the script is already formatted or has syntax errors.
 */
export function formatEdits(source: string): TextEdit[] {
  const result = formatScript(source);
  if (!result.ok || !result.changed) {
    return [];
  }
  return lineEdits(source, result.text);
}

// ---- source text --------------------------------------------------------------------------------------

interface Comment {
  /** Offset of the "#". */
  readonly start: number;
  /** From "#" to the end of the line, without trailing blanks. */
  readonly text: string;
  readonly line: number;
  /** Column of the "#". */
  readonly column: number;
}

/** Offsets where each line starts; line breaks as the lexer's ("\n", "\r\n", lone "\r"). */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 13 && text.charCodeAt(i + 1) === 10) {
      i++;
      starts.push(i + 1);
    } else if (c === 10 || c === 13) {
      starts.push(i + 1);
    }
  }
  return starts;
}

/** The comments of a lexed source: each sits between a token and the Newline or Eof that ends its line. */
function readComments(source: string, tokens: readonly Token[], starts: readonly number[]): Comment[] {
  const comments: Comment[] = [];
  let from = 0;
  for (const t of tokens) {
    if (t.kind === TokenKind.Newline || t.kind === TokenKind.Eof) {
      let hash = from;
      while (hash < t.start && source.charCodeAt(hash) !== 35) hash++;
      if (hash < t.start) {
        const line = t.range.start.line;
        comments.push({ start: hash, text: source.slice(hash, t.start).trimEnd(), line, column: hash - starts[line]! });
      }
    }
    from = t.end;
  }
  return comments;
}

// ---- the printer --------------------------------------------------------------------------------------

interface Line {
  readonly kind: 'code' | 'comment' | 'blank';
  indent: number;
  text: string;
  /** code: its trailing comment; comment: the comment. */
  comment?: Comment;
  /** A hanging comment: the code line whose trailing comment it continues. */
  hangOf?: Line;
  /** code: its first token starts a source line, so its trailing comment may keep its column. */
  startsSourceLine?: boolean;
  /** code: the column its trailing comment was given (set while rendering). */
  commentColumn?: number;
}

class Printer {
  private readonly starts: number[];
  private readonly comments: Comment[];
  /** Token index by start offset (tokens other than newlines). */
  private readonly tokenAt = new Map<number, number>();
  /** The matching ")" or "}" of each "(" or "{", by token index. */
  private readonly closer = new Map<number, number>();
  private readonly eol: string;

  private readonly lines: Line[] = [];
  /** The line being written, undefined when the last line is closed (a comment line followed it). */
  private cur: Line | undefined;
  /** Token cursor: the next token to print is the first at or after it that is no newline or ";". */
  private ti = 0;
  /** Comment cursor. */
  private ci = 0;
  /** The last token printed, and the line it went to. */
  private last: Token | undefined;
  private lastLine: Line | undefined;
  /** The source line of the last token or comment placed, for blank lines and hanging comments. */
  private lastSourceLine = 0;
  /** The code line whose trailing comment a full-line comment just below may continue. */
  private hang: Line | undefined;
  /** A comment line was placed after the last token's line; a "," glued to that line then seals it. */
  private placedSinceLast = false;
  /** The last token's line takes no trailing comment (a "," went up to it past a full-line comment). */
  private sealed = false;
  /** Indentation of the next line when a comment breaks an expression. */
  private cont = INDENT;

  constructor(
    source: string,
    private readonly tokens: readonly Token[],
  ) {
    this.starts = lineStarts(source);
    this.comments = readComments(source, tokens, this.starts);
    const eol = /\r\n|\r|\n/.exec(source);
    this.eol = eol ? eol[0] : '\n';
    const parens: number[] = [];
    const braces: number[] = [];
    const brackets: number[] = [];
    tokens.forEach((t, i) => {
      if (t.kind !== TokenKind.Newline) this.tokenAt.set(t.start, i);
      if (t.kind === TokenKind.LParen) parens.push(i);
      else if (t.kind === TokenKind.LBrace) braces.push(i);
      else if (t.kind === TokenKind.LBracket) brackets.push(i);
      else if (t.kind === TokenKind.RParen && parens.length > 0) this.closer.set(parens.pop()!, i);
      else if (t.kind === TokenKind.RBrace && braces.length > 0) this.closer.set(braces.pop()!, i);
      else if (t.kind === TokenKind.RBracket && brackets.length > 0) this.closer.set(brackets.pop()!, i);
    });
  }

  print(script: Script): string {
    this.statements(script.statements, 0);
    this.open(0);
    this.placeComments(this.peek().start, 0, script.statements.length === 0);
    return this.render();
  }

  // ---- tokens and lines ----

  /** The next token to print (skipping line breaks and ";"), and moves the cursor to it. */
  private peek(): Token {
    while (this.tokens[this.ti]!.kind === TokenKind.Newline || this.tokens[this.ti]!.kind === TokenKind.Semicolon) {
      this.ti++;
    }
    return this.tokens[this.ti]!;
  }

  /** Starts a line at `indent` (an empty current line is reused). */
  private open(indent: number): void {
    const c = this.cur;
    if (c && c.text === '' && this.lines[this.lines.length - 1] === c) {
      c.indent = indent;
      return;
    }
    this.cur = { kind: 'code', indent, text: '' };
    this.lines.push(this.cur);
  }

  /** Puts a comment or blank line before the current line when it is still empty, else after it. */
  private place(line: Line): void {
    this.placedSinceLast = true;
    const c = this.cur;
    if (c && c.text === '' && this.lines[this.lines.length - 1] === c) {
      this.lines.splice(this.lines.length - 1, 0, line);
    } else {
      this.lines.push(line);
      this.cur = undefined;
    }
  }

  /**
   * Places the comments before offset `until`: a trailing one on the line of the token it follows, a
   * full-line one on a line of its own at `indent` (or its own column when it hangs). `list` (the first
   * item of a list or not) keeps blank lines, as between statements. Returns whether the list is still at
   * its first item.
   */
  private placeComments(until: number, indent: number, first: boolean, list = true): boolean {
    while (this.ci < this.comments.length && this.comments[this.ci]!.start < until) {
      const c = this.comments[this.ci++]!;
      if (this.last && this.lastLine && !this.lastLine.comment && !this.sealed && c.line === this.last.range.end.line) {
        this.lastLine.comment = c;
        this.hang = this.lastLine;
        this.lastSourceLine = c.line;
        continue;
      }
      if (list && !first && c.line - this.lastSourceLine >= 2) {
        this.place({ kind: 'blank', indent: 0, text: '' });
      }
      const hangOf =
        this.hang && c.line === this.lastSourceLine + 1 && c.column > this.hang.indent ? this.hang : undefined;
      this.place({ kind: 'comment', indent, text: '', comment: c, hangOf });
      this.hang = hangOf;
      this.lastSourceLine = c.line;
      first = false;
    }
    return first;
  }

  /** Opens the line of a list item (statement, machine entry) and places the comments before it. */
  private item(indent: number, first: boolean): void {
    this.open(indent);
    const next = this.peek();
    if (!this.placeComments(next.start, indent, first) && next.range.start.line - this.lastSourceLine >= 2) {
      this.place({ kind: 'blank', indent: 0, text: '' });
    }
  }

  /**
   * Prints the next token, which must read `text`. `space`: a space before it unless it starts the line;
   * `glue`: it goes right after the previous token even when a trailing comment ended that line (a ",").
   */
  private emit(text: string, space = true, glue = false): void {
    const t = this.peek();
    if (t.text !== text) {
      throw new Error(`formatter: expected '${text}' at offset ${t.start}, found '${t.text}'`);
    }
    this.put(t, space, glue);
  }

  /** Prints the next token as written (a number or a string). */
  private emitLiteral(space: boolean): void {
    const t = this.peek();
    if (t.kind !== TokenKind.Number && t.kind !== TokenKind.String) {
      throw new Error(`formatter: expected a literal at offset ${t.start}, found '${t.text}'`);
    }
    this.put(t, space, false);
  }

  private put(t: Token, space: boolean, glue: boolean): void {
    const c = this.cur;
    this.placeComments(t.start, c && c.text === '' ? c.indent : this.cont, true, false);
    if (glue && this.lastLine) {
      this.lastLine.text += t.text;
      this.sealed ||= this.placedSinceLast;
    } else {
      if (!this.cur || this.cur.comment) {
        this.open(this.cont);
      }
      const line = this.cur!;
      if (line.text === '') {
        line.startsSourceLine = this.ti === 0 || this.tokens[this.ti - 1]!.kind === TokenKind.Newline;
      }
      line.text += (line.text !== '' && space ? ' ' : '') + t.text;
      this.lastLine = line;
      this.hang = undefined;
      this.placedSinceLast = false;
      this.sealed = false;
    }
    this.last = t;
    this.lastSourceLine = t.range.end.line;
    this.ti++;
  }

  /** Writes text that is no source token (a comma the multi-line form adds, a ";" between machine entries). */
  private write(text: string): void {
    this.lastLine!.text += text;
  }

  /** Steps over the next token when it is of `kind` (a trailing comma the one-line form drops). */
  private skip(kind: TokenKind): void {
    if (this.peek().kind === kind) {
      this.ti++;
    }
  }

  private hasComments(from: number, to: number): boolean {
    let lo = 0;
    let hi = this.comments.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.comments[mid]!.start < from) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.comments.length && this.comments[lo]!.start < to;
  }

  private offset(p: Position): number {
    return this.starts[p.line]! + p.character;
  }

  private tokenIndex(p: Position): number {
    const i = this.tokenAt.get(this.offset(p));
    if (i === undefined) {
      throw new Error(`formatter: no token at ${p.line}:${p.character}`);
    }
    return i;
  }

  // ---- statements ----

  private statements(list: readonly Stmt[], indent: number): void {
    list.forEach((s, i) => {
      this.item(indent, i === 0);
      this.cont = indent + INDENT;
      this.statement(s, indent);
    });
  }

  private statement(s: Stmt, indent: number): void {
    switch (s.kind) {
      case 'let':
        this.emit('let');
        this.emit(s.name.name);
        this.emit('=');
        this.expr(s.init, true);
        return;
      case 'assign':
        this.emit(s.target.name);
        this.emit('=');
        this.expr(s.value, true);
        return;
      case 'index-assign':
        this.expr(s.target, true);
        this.emit('=');
        this.expr(s.value, true);
        return;
      case 'push':
        this.emit('push');
        this.expr(s.list, true);
        this.emit(',', false, true);
        this.expr(s.value, true);
        return;
      case 'for-each':
        this.emit('for');
        this.emit(s.variable.name);
        this.emit('in');
        this.expr(s.list, true);
        this.block(s.body, indent);
        return;
      case 'expr':
        this.expr(s.expr, false);
        return;
      case 'repeat':
        this.emit('repeat');
        this.expr(s.count, true);
        this.block(s.body, indent);
        return;
      case 'for':
        this.emit('for');
        this.emit(s.variable.name);
        this.emit('in');
        this.expr(s.from, true);
        this.emit('..', false);
        this.expr(s.to, false);
        this.block(s.body, indent);
        return;
      case 'if':
        this.ifStatement(s, indent);
        return;
      case 'while':
        this.emit('while');
        this.expr(s.condition, true);
        this.block(s.body, indent);
        return;
      case 'proc':
        this.emit('proc');
        this.emit(s.name.name);
        this.emit('(', false);
        s.params.forEach((p, i) => {
          if (i > 0) this.emit(',', false, true);
          this.emit(p.name, i > 0);
        });
        this.skip(TokenKind.Comma);
        this.emit(')', false);
        this.block(s.body, indent);
        return;
      case 'return':
        this.emit('return');
        if (s.value) this.expr(s.value, true);
        return;
      case 'expect':
        this.emit('expect');
        this.expr(s.condition, true);
        return;
      case 'expect-report':
        this.emit('expect');
        this.emit(s.report.name);
        this.block(s.body, indent);
        return;
      case 'on-cpu':
        this.emit('on');
        this.emit('cpu');
        this.expr(s.cpu, true);
        this.block(s.body, indent);
        return;
      case 'on-context':
        this.emit('on');
        this.emit(s.context);
        this.block(s.body, indent);
        return;
      case 'print':
        this.emit(s.toLog ? 'log' : 'print');
        s.items.forEach((e, i) => {
          if (i > 0) this.emit(',', false, true);
          this.expr(e, true);
        });
        return;
      case 'machine':
        this.machine(s, indent);
        return;
      case 'include':
        this.emit('include');
        this.emitLiteral(true);
        return;
    }
  }

  private ifStatement(s: IfStmt, indent: number): void {
    this.emit('if');
    this.expr(s.condition, true);
    this.block(s.then, indent);
    if (!s.otherwise) {
      return;
    }
    this.emit('else');
    if ('kind' in s.otherwise) {
      this.cont = indent + INDENT;
      this.ifStatement(s.otherwise, indent);
    } else {
      this.block(s.otherwise, indent);
    }
  }

  /** `{ ... }` after a header at `indent`: "{" on the header's line, "}" on a line of its own. */
  private block(b: Block, indent: number): void {
    this.emit('{');
    const open = this.ti - 1;
    const close = this.tokens[this.closer.get(open)!]!;
    if (b.statements.length === 0 && !this.hasComments(this.tokens[open]!.end, close.start)) {
      this.emit('}', false);
      return;
    }
    const cont = this.cont;
    this.statements(b.statements, indent + INDENT);
    this.closeList(indent + INDENT, indent, b.statements.length === 0);
    this.cont = cont;
  }

  /** The "}" of a block or a multi-line machine block, after the comments that end the list. */
  private closeList(inner: number, outer: number, empty: boolean): void {
    this.open(outer);
    this.placeComments(this.peek().start, inner, empty);
    this.emit('}');
  }

  private machine(s: MachineStmt, indent: number): void {
    this.emit('machine');
    this.emit('{');
    const open = this.ti - 1;
    const close = this.tokens[this.closer.get(open)!]!;
    const commented = this.hasComments(this.tokens[open]!.end, close.start);
    if (s.entries.length === 0 && !commented) {
      this.emit('}', false);
      return;
    }
    if (
      !commented &&
      s.entries.length <= MACHINE_INLINE_MAX_ENTRIES &&
      this.tokens[open]!.range.start.line === close.range.start.line
    ) {
      // No comment inside: printing the line touches only the current line and the cursors.
      const line = this.cur!;
      const saved = { text: line.text, ti: this.ti, last: this.last, lastSourceLine: this.lastSourceLine };
      s.entries.forEach((e, i) => {
        if (i > 0) this.write(';');
        this.entry(e);
      });
      this.emit('}');
      if (line.indent + line.text.length <= FORMAT_WIDTH) {
        return;
      }
      line.text = saved.text;
      this.ti = saved.ti;
      this.last = saved.last;
      this.lastSourceLine = saved.lastSourceLine;
    }
    const cont = this.cont;
    s.entries.forEach((e, i) => {
      this.item(indent + INDENT, i === 0);
      this.cont = indent + 2 * INDENT;
      this.entry(e);
    });
    this.closeList(indent + INDENT, indent, s.entries.length === 0);
    this.cont = cont;
  }

  private entry(e: MachineEntry): void {
    this.emit(e.name.name);
    const v = e.value;
    if (
      e.name.name === 'arch' &&
      v.kind === 'binary' &&
      v.op === '-' &&
      v.left.kind === 'name' &&
      v.right.kind === 'name' &&
      this.parens(v) + this.parens(v.left) + this.parens(v.right) === 0
    ) {
      // The name pair x86_64-la57 reads as one word.
      this.emit(v.left.name);
      this.emit('-', false);
      this.emit(v.right.name, false);
      return;
    }
    this.expr(v, true);
  }

  // ---- expressions ----

  /** The parentheses the source puts around `e` (the parser keeps them only in the node's range). */
  private parens(e: Expr): number {
    let i = this.tokenIndex(e.range.start);
    const stop = e.kind === 'binary' ? this.tokenIndex(e.left.range.start) : this.tokens.length;
    let n = 0;
    for (; i < stop; i++) {
      const k = this.tokens[i]!.kind;
      if (k === TokenKind.LParen) n++;
      else if (k !== TokenKind.Newline) break;
    }
    return n;
  }

  private expr(e: Expr, space: boolean): void {
    const parens = this.parens(e);
    for (let i = 0; i < parens; i++) {
      this.emit('(', i === 0 && space);
    }
    const inner = parens === 0 && space;
    switch (e.kind) {
      case 'number':
      case 'string':
        this.emitLiteral(inner);
        break;
      case 'name':
        this.emit(e.name, inner);
        break;
      case 'call':
        this.emit(e.callee.name, inner);
        this.emit('(', false);
        this.items(e.args, ')');
        break;
      case 'list':
        this.emit('[', inner);
        this.items(e.items, ']');
        break;
      case 'index':
        this.expr(e.list, inner);
        this.emit('[', false);
        this.expr(e.index, false);
        this.emit(']', false);
        break;
      case 'pop':
        this.emit('pop', inner);
        this.expr(e.list, true);
        break;
      case 'unary':
        this.emit(e.op, inner);
        this.expr(e.operand, false);
        break;
      case 'binary':
        this.expr(e.left, inner);
        this.emit(e.op);
        this.expr(e.right, true);
        break;
      case 'error':
        throw new Error('formatter: an expression the parser could not read');
    }
    for (let i = 0; i < parens; i++) {
      this.emit(')', false);
    }
  }

  /** The items of a call's `(` or a list's `[` (just emitted) up to `close`: on one line, or one per line. */
  private items(items: readonly Expr[], close: ')' | ']'): void {
    const open = this.ti - 1;
    const closing = this.tokens[this.closer.get(open)!]!;
    const broken =
      this.hasComments(this.tokens[open]!.end, closing.start) ||
      (items.length > 0 && this.tokens[open + 1]!.kind === TokenKind.Newline);
    if (!broken) {
      items.forEach((a, i) => {
        if (i > 0) this.emit(',', false, true);
        this.expr(a, i > 0);
      });
      this.skip(TokenKind.Comma);
      this.emit(close, false);
      return;
    }
    const base = this.lastLine!.indent;
    const cont = this.cont;
    for (const a of items) {
      this.open(base + INDENT);
      this.cont = base + 2 * INDENT;
      this.expr(a, false);
      // Comments before the comma stand between arguments: at their level (the comma moves up before them).
      this.placeComments(this.peek().start, base + INDENT, true, false);
      if (this.peek().kind === TokenKind.Comma) this.emit(',', false, true);
      else this.write(',');
    }
    this.cont = cont;
    this.open(base);
    this.placeComments(this.peek().start, base + INDENT, true, false);
    this.emit(close, false);
  }

  // ---- output ----

  private render(): string {
    const out: string[] = [];
    for (const line of this.lines) {
      if (line.kind === 'blank') {
        if (out.length > 0 && out[out.length - 1] !== '') out.push('');
      } else if (line.kind === 'comment') {
        const c = line.comment!;
        const anchor = line.hangOf;
        // A hanging comment moves as far as the comment it continues, and stays right of that line's code.
        const column = anchor
          ? Math.max(anchor.indent + 1, c.column + anchor.commentColumn! - anchor.comment!.column)
          : line.indent;
        out.push(' '.repeat(column) + c.text);
      } else if (line.text !== '') {
        let text = ' '.repeat(line.indent) + line.text;
        if (line.comment) {
          line.commentColumn = Math.max(line.startsSourceLine ? line.comment.column : 0, text.length + 2);
          text = text.padEnd(line.commentColumn) + line.comment.text;
        }
        out.push(text);
      }
    }
    while (out.length > 0 && out[out.length - 1] === '') out.pop();
    return out.length === 0 ? '' : out.join(this.eol) + this.eol;
  }
}

// ---- verification -------------------------------------------------------------------------------------

const RANGE_KEYS: ReadonlySet<string> = new Set(['range', 'head', 'opRange', 'keyword', 'pathRange']);

/** Whether two syntax trees are the same but for their ranges. */
function sameModuloRanges(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x).filter((k) => !RANGE_KEYS.has(k));
  if (keys.length !== Object.keys(y).filter((k) => !RANGE_KEYS.has(k)).length) return false;
  return keys.every((k) => k in y && sameModuloRanges(x[k], y[k]));
}

function commentTexts(source: string, tokens: readonly Token[]): string[] {
  return readComments(source, tokens, lineStarts(source)).map((c) => c.text);
}

/** The formatter's invariants: same tree, same comments, no new diagnostic. Throws on a formatter bug. */
function verify(source: string, tokens: readonly Token[], script: Script, text: string): void {
  const again = parse(text);
  const problem =
    again.diagnostics.length > 0
      ? `${again.diagnostics[0]!.code} ${again.diagnostics[0]!.message}`
      : !sameModuloRanges(script, again.script)
        ? 'a different syntax tree'
        : commentTexts(source, tokens).join('\n') !== commentTexts(text, again.tokens).join('\n')
          ? 'different comments'
          : undefined;
  if (problem !== undefined) {
    throw new Error(`formatter bug: the formatted script has ${problem}`);
  }
}

// ---- edits --------------------------------------------------------------------------------------------

/** Lines with their line breaks. */
function splitLines(text: string): string[] {
  return text.match(/[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$/g) ?? [];
}

/** Bound on the line-diff table; beyond it, the changed middle is one edit. */
const DIFF_CELLS = 4_000_000;

/** Edits turning `from` into `to`, one per run of lines that differ (a longest-common-subsequence diff). */
function lineEdits(from: string, to: string): TextEdit[] {
  const a = splitLines(from);
  const b = splitLines(to);
  const lineOffset: number[] = [0];
  for (const l of a) lineOffset.push(lineOffset[lineOffset.length - 1]! + l.length);
  const starts = lineStarts(from);
  const positionAt = (offset: number): Position => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: offset - starts[lo]! };
  };

  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) {
    tail++;
  }
  const n = a.length - head - tail;
  const m = b.length - head - tail;
  // Pairs of equal lines (index in a, index in b) inside the middle, in order.
  const matches: [number, number][] = [];
  if (n > 0 && m > 0 && n * m <= DIFF_CELLS) {
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * (m + 1) + j] =
          a[head + i] === b[head + j]
            ? lcs[(i + 1) * (m + 1) + j + 1]! + 1
            : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
      }
    }
    for (let i = 0, j = 0; i < n && j < m;) {
      if (a[head + i] === b[head + j]) {
        matches.push([head + i, head + j]);
        i++;
        j++;
      } else if (lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!) i++;
      else j++;
    }
  }
  matches.push([a.length - tail, b.length - tail]);

  const edits: TextEdit[] = [];
  let i = head;
  let j = head;
  for (const [mi, mj] of matches) {
    if (mi > i || mj > j) {
      edits.push({
        range: { start: positionAt(lineOffset[i]!), end: positionAt(lineOffset[mi]!) },
        newText: b.slice(j, mj).join(''),
      });
    }
    i = mi + 1;
    j = mj + 1;
  }
  return edits;
}
