/*
 * The parser: tokens to a Script (ast.ts), by recursive descent with C precedence for binary operators.
 *
 *   script     = { statement end } ;        end = newline | ";" | before the "}" of a block | end of file
 *   statement  = let | assignment | call | repeat | for | if | while | proc | return | expect | on | print | log
 *              | machine
 * (docs/language.md has the full EBNF.) Newlines end statements, except inside parentheses: there an
 * expression or an argument list may go on over several lines (`parens` counts the open ones, and `cur`
 * steps over newlines while it is above zero).
 *
 * Error recovery is panic mode: the first problem in a statement is reported, `panic` silences the rest,
 * and `sync()` skips to the next statement boundary (a newline or ";" outside braces, or the "}" that
 * closes the current block); a "{" met while skipping is skipped with its whole block, so a broken loop
 * header costs one diagnostic, not one per body line. Junk after a complete statement costs the rest of
 * its line. A machine block left open ends where a line reads as a statement, and so does an argument
 * list left open at the end of a line. Tokens the lexer already reported (Invalid, malformed numbers or
 * strings) never cause a second diagnostic.
 *
 * Depth: nesting (parentheses, unary operators, blocks) and the height of an expression tree are bounded
 * (KM1007), so the parser and every later pass can recurse without overflowing the stack on any input.
 */

import {
  AssignStmt,
  BinaryOp,
  Block,
  Expr,
  ExpectReportStmt,
  ExpectStmt,
  ExprStmt,
  ForEachStmt,
  ForStmt,
  Identifier,
  IfStmt,
  IncludeStmt,
  IndexAssignStmt,
  LetStmt,
  MachineEntry,
  MachineStmt,
  OnContextStmt,
  OnCpuStmt,
  PrintStmt,
  ProcStmt,
  PushStmt,
  RepeatStmt,
  ReturnStmt,
  Script,
  Stmt,
  UnaryOp,
  WhileStmt,
} from './ast';
import { Diagnostic, Range, cover, error } from './diagnostics';
import { lex } from './lexer';
import {
  FUTURE_STATEMENT_WORDS,
  FUTURE_VALUE_WORDS,
  STATEMENT_KEYWORDS,
  Token,
  TokenKind,
  describeToken,
} from './tokens';

/** Bound on nesting and on the height of an expression tree. */
export const MAX_NESTING = 200;

/** Entries the machine block understands today. */
export const MACHINE_ENTRIES: readonly string[] = [
  'memory',
  'cpus',
  'arch',
  'slab_freelist_hardened',
  'slab_debug',
  'kasan',
  'kasan_multi_shot',
  'kmemleak',
  'kfence',
  'seed',
];

export interface ParseResult {
  readonly script: Script;
  readonly tokens: readonly Token[];
  /** Lexical and syntax diagnostics, in the order found. */
  readonly diagnostics: Diagnostic[];
}

export function parse(source: string): ParseResult {
  const lexed = lex(source);
  const parser = new Parser(lexed.tokens, lexed.diagnostics);
  const script = parser.parseScript();
  return { script, tokens: lexed.tokens, diagnostics: parser.diagnostics };
}

/** One expression and nothing else (the debugger's watch and hover text); undefined with the first problem. */
export function parseExpression(source: string): { expr: Expr } | { error: Diagnostic } {
  const lexed = lex(source);
  const parser = new Parser(lexed.tokens, lexed.diagnostics);
  const expr = parser.parseExpr();
  parser.expectEnd();
  const problem = parser.diagnostics[0];
  return problem ? { error: problem } : { expr };
}

const BINARY_PRECEDENCE: ReadonlyMap<TokenKind, readonly [BinaryOp, number]> = new Map([
  [TokenKind.PipePipe, ['||', 1]],
  [TokenKind.AmpAmp, ['&&', 2]],
  [TokenKind.Pipe, ['|', 3]],
  [TokenKind.Caret, ['^', 4]],
  [TokenKind.Amp, ['&', 5]],
  [TokenKind.EqEq, ['==', 6]],
  [TokenKind.NotEq, ['!=', 6]],
  [TokenKind.Lt, ['<', 7]],
  [TokenKind.LtEq, ['<=', 7]],
  [TokenKind.Gt, ['>', 7]],
  [TokenKind.GtEq, ['>=', 7]],
  [TokenKind.Shl, ['<<', 8]],
  [TokenKind.Shr, ['>>', 8]],
  [TokenKind.Plus, ['+', 9]],
  [TokenKind.Minus, ['-', 9]],
  [TokenKind.Star, ['*', 10]],
  [TokenKind.Slash, ['/', 10]],
  [TokenKind.Percent, ['%', 10]],
] as const);

const UNARY_OPS: ReadonlyMap<TokenKind, UnaryOp> = new Map([
  [TokenKind.Minus, '-'],
  [TokenKind.Bang, '!'],
  [TokenKind.Tilde, '~'],
] as const);

class Parser {
  private pos = 0;
  private panic = false;
  /** Open parentheses of the current expression: newlines inside them do not end the statement. */
  private parens = 0;
  /** Loop bodies open around the current statement. */
  private blocks = 0;
  private nesting = 0;
  /** End of the last token consumed (not counting newlines). */
  private lastEnd: Range;

  constructor(
    private readonly tokens: readonly Token[],
    readonly diagnostics: Diagnostic[],
  ) {
    this.lastEnd = tokens[0]!.range;
  }

  parseScript(): Script {
    const statements = this.parseStatements(false);
    const eof = this.tokens[this.tokens.length - 1]!.range;
    return { statements, range: { start: { line: 0, character: 0 }, end: eof.end } };
  }

  // ---- tokens -------------------------------------------------------------------------------------

  private get cur(): Token {
    if (this.parens > 0) {
      while (this.tokens[this.pos]!.kind === TokenKind.Newline) {
        this.pos++;
      }
    }
    return this.tokens[this.pos]!;
  }

  private advance(): Token {
    const t = this.cur;
    if (t.kind !== TokenKind.Eof) {
      this.pos++;
    }
    if (t.kind !== TokenKind.Newline) {
      this.lastEnd = t.range;
    }
    return t;
  }

  private at(kind: TokenKind): boolean {
    return this.cur.kind === kind;
  }

  /** Reports the first problem of a statement and enters panic mode; later reports are dropped. */
  private fail(code: string, message: string, at: Range): void {
    if (!this.panic) {
      this.diagnostics.push(error(code, message, at));
    }
    this.panic = true;
  }

  /** Reports without entering panic mode (the parse goes on as if the text were right). */
  private note(code: string, message: string, at: Range): void {
    if (!this.panic) {
      this.diagnostics.push(error(code, message, at));
    }
  }

  /** "expected X, found Y" at the current token; silent on a token the lexer already reported. */
  private expected(what: string, code = 'KM1003'): void {
    const t = this.cur;
    if (t.kind === TokenKind.Invalid || t.malformed) {
      this.panic = true;
      return;
    }
    if (this.parens > 0 && this.tokens[this.pos - 1]?.kind === TokenKind.Newline && this.looksLikeStatement()) {
      // A parenthesis left open at the end of a line, and the next line reads as a statement of its own:
      // report at the end of the line, and step back to that line break so recovery resumes with the next
      // line's statement instead of swallowing it.
      while (this.tokens[this.pos - 1]?.kind === TokenKind.Newline) {
        this.pos--;
      }
      const end = this.lastEnd.end;
      this.fail(code, `expected ${what}, found end of line`, { start: end, end });
      return;
    }
    this.fail(code, `expected ${what}, found ${describeToken(t)}`, t.range);
  }

  /** Whether the token after the current one ends its line: a "}" followed by more text is a stray one. */
  private closesLine(): boolean {
    const next = this.tokens[this.pos + 1]!.kind;
    return (
      next === TokenKind.Newline || next === TokenKind.Eof || next === TokenKind.Semicolon || next === TokenKind.RBrace
    );
  }

  /**
   * Whether the current token starts a statement: a statement keyword, or a name followed by "=" or "(".
   * In the machine block (`inMachine`) a keyword that names no statement of today does not count, so
   * `cpu 2` is reported as an unknown entry rather than ending the block.
   */
  private looksLikeStatement(inMachine = false): boolean {
    const t = this.tokens[this.pos]!;
    if (t.kind === TokenKind.Keyword) {
      return inMachine
        ? STATEMENT_KEYWORDS.includes(t.text)
        : t.text !== 'in' && t.text !== 'else' && !FUTURE_VALUE_WORDS.has(t.text);
    }
    const next = this.tokens[this.pos + 1]?.kind;
    return (
      t.kind === TokenKind.Identifier &&
      !(inMachine && MACHINE_ENTRIES.includes(t.text)) &&
      (next === TokenKind.Assign || next === TokenKind.LParen || next === TokenKind.LBracket)
    );
  }

  /**
   * Skips to the next statement boundary and leaves panic mode.
   *   'statement'  up to a newline or ";" (consumed) or the "}" closing the current block (not consumed);
   *                a "{" on the way is skipped with its whole block.
   *   'line'       junk after a complete statement: the rest of the line, ";" included.
   * In both, a "}" at the top level, or one followed by more text on its line, is junk and skipped too.
   *   'entry'      inside the machine block: up to a newline, ";" or "}", braces not counted.
   */
  private sync(mode: 'statement' | 'line' | 'entry' = 'statement'): void {
    this.parens = 0;
    let braces = 0;
    for (;;) {
      const t = this.cur;
      if (t.kind === TokenKind.Eof) {
        break;
      }
      if (braces === 0 && (t.kind === TokenKind.Newline || (t.kind === TokenKind.Semicolon && mode !== 'line'))) {
        this.advance();
        break;
      }
      if (t.kind === TokenKind.LBrace && mode !== 'entry') {
        braces++;
      } else if (t.kind === TokenKind.RBrace) {
        if (braces === 0 && (mode === 'entry' || (this.blocks > 0 && this.closesLine()))) {
          break;
        }
        braces = Math.max(0, braces - 1);
      }
      this.advance();
    }
    this.panic = false;
  }

  private enter(at: Range): boolean {
    if (this.nesting >= MAX_NESTING) {
      this.fail('KM1007', `nesting too deep (more than ${MAX_NESTING} levels)`, at);
      return false;
    }
    this.nesting++;
    return true;
  }

  private leave(): void {
    this.nesting--;
  }

  // ---- statements ---------------------------------------------------------------------------------

  private parseStatements(inBlock: boolean): Stmt[] {
    const statements: Stmt[] = [];
    for (;;) {
      while (this.at(TokenKind.Newline) || this.at(TokenKind.Semicolon)) {
        this.advance();
      }
      if (this.at(TokenKind.Eof)) {
        break;
      }
      if (this.at(TokenKind.RBrace)) {
        if (inBlock) {
          break;
        }
        this.fail('KM1005', `expected a statement, found '}' (no block is open here)`, this.cur.range);
        this.advance();
        this.panic = false;
        continue;
      }
      const stmt = this.parseStatement();
      if (stmt) {
        statements.push(stmt);
      }
      if (this.panic) {
        this.sync();
      } else {
        this.endStatement();
        if (this.panic) {
          this.sync('line');
        }
      }
    }
    return statements;
  }

  private endStatement(): void {
    const k = this.cur.kind;
    if (k === TokenKind.Newline || k === TokenKind.Semicolon) {
      this.advance();
    } else if (k !== TokenKind.Eof && !(k === TokenKind.RBrace && this.blocks > 0)) {
      this.expected(`end of statement (a new line or ';')`);
    }
  }

  private parseStatement(): Stmt | undefined {
    const t = this.cur;
    if (t.kind === TokenKind.Keyword) {
      switch (t.text) {
        case 'let':
          return this.parseLet();
        case 'repeat':
          return this.parseRepeat();
        case 'for':
          return this.parseFor();
        case 'if':
          return this.parseIf();
        case 'while':
          return this.parseWhile();
        case 'proc':
          return this.parseProc();
        case 'return':
          return this.parseReturn();
        case 'expect':
          return this.parseExpect();
        case 'on':
          return this.parseOn();
        case 'print':
        case 'log':
          return this.parsePrint();
        case 'else':
          this.fail('KM1010', `'else' must follow the '}' of an if on the same line (} else {)`, t.range);
          return undefined;
        case 'machine':
          return this.parseMachine();
        case 'push':
          return this.parsePush();
        case 'pop':
          return this.parseExpressionStatement();
        case 'include':
          return this.parseInclude();
      }
      if (FUTURE_STATEMENT_WORDS.has(t.text)) {
        this.fail('KM2005', `'${t.text}' is reserved for a future statement`, t.range);
        return undefined;
      }
      if (!FUTURE_VALUE_WORDS.has(t.text)) {
        this.expected('a statement', 'KM1005');
        return undefined;
      }
    }
    switch (t.kind) {
      case TokenKind.Identifier:
      case TokenKind.Number:
      case TokenKind.String:
      case TokenKind.Keyword:
      case TokenKind.LParen:
      case TokenKind.LBracket:
      case TokenKind.Minus:
      case TokenKind.Bang:
      case TokenKind.Tilde:
        return this.parseExpressionStatement();
      default:
        this.expected('a statement', 'KM1005');
        return undefined;
    }
  }

  private parseLet(): LetStmt | undefined {
    const keyword = this.advance();
    const name = this.parseDeclaredName(`a variable name after 'let'`);
    if (!name) {
      return undefined;
    }
    if (!this.at(TokenKind.Assign)) {
      this.expected(`'=' and an initial value after 'let ${name.name}'`);
      const init = this.errorExpr(this.cur.range);
      return {
        kind: 'let',
        name,
        init,
        range: cover(keyword.range, name.range),
        head: cover(keyword.range, name.range),
      };
    }
    this.advance();
    let init = this.parseExpr();
    if (this.panic) {
      // Keep the declaration (later uses of the name stay quiet) but not the broken initialiser.
      init = this.errorExpr(init.range);
    }
    const range = cover(keyword.range, this.lastEnd);
    return { kind: 'let', name, init, range, head: range };
  }

  /** A name being declared (let, for); a reserved word is reported and used as the name anyway. */
  private parseDeclaredName(what: string): Identifier | undefined {
    const t = this.cur;
    if (t.kind === TokenKind.Identifier) {
      this.advance();
      return { kind: 'identifier', name: t.text, range: t.range };
    }
    if (t.kind === TokenKind.Keyword) {
      this.note('KM2005', reservedMessage(t.text, 'a variable name'), t.range);
      this.advance();
      return { kind: 'identifier', name: t.text, range: t.range };
    }
    this.expected(what);
    return undefined;
  }

  private parseExpressionStatement(): AssignStmt | IndexAssignStmt | ExprStmt | undefined {
    const expr = this.parseExpr();
    if (this.panic) {
      return undefined;
    }
    if (this.at(TokenKind.Assign)) {
      if (expr.kind === 'index') {
        this.advance();
        const value = this.parseExpr();
        if (this.panic) {
          return undefined;
        }
        const range = cover(expr.range, this.lastEnd);
        return { kind: 'index-assign', target: expr, value, range, head: range };
      }
      if (expr.kind !== 'name') {
        this.fail('KM1009', `the left side of '=' must be a variable name or a list item (pool[i])`, expr.range);
        return undefined;
      }
      this.advance();
      const value = this.parseExpr();
      if (this.panic) {
        return undefined;
      }
      const range = cover(expr.range, this.lastEnd);
      return {
        kind: 'assign',
        target: { kind: 'identifier', name: expr.name, range: expr.range },
        value,
        range,
        head: range,
      };
    }
    return { kind: 'expr', expr, range: expr.range, head: expr.range };
  }

  private parseRepeat(): RepeatStmt | undefined {
    const keyword = this.advance();
    const count = this.parseExpr();
    const head = cover(keyword.range, this.lastEnd);
    const body = this.parseBody('the repeat count');
    if (!body) {
      return undefined;
    }
    return { kind: 'repeat', count, body, head, range: cover(keyword.range, body.range) };
  }

  private parseFor(): ForStmt | ForEachStmt | undefined {
    const keyword = this.advance();
    const variable = this.parseDeclaredName(`a loop variable name after 'for'`);
    if (!variable) {
      return undefined;
    }
    if (!(this.at(TokenKind.Keyword) && this.cur.text === 'in')) {
      this.expected(`'in' after 'for ${variable.name}'`);
      return undefined;
    }
    this.advance();
    const from = this.parseExpr();
    if (!this.panic && this.at(TokenKind.LBrace)) {
      // `for p in pool { ... }`: a list's items.
      const head = cover(keyword.range, this.lastEnd);
      const body = this.parseBody('the list');
      if (!body) {
        return undefined;
      }
      return { kind: 'for-each', variable, list: from, body, head, range: cover(keyword.range, body.range) };
    }
    if (!this.panic && !this.at(TokenKind.DotDot)) {
      this.expected(`'..' between the bounds of the range (for i in 0..8), or '{' after a list (for p in pool)`);
    }
    if (this.panic) {
      return undefined;
    }
    this.advance();
    const to = this.parseExpr();
    const head = cover(keyword.range, this.lastEnd);
    const body = this.parseBody('the range');
    if (!body) {
      return undefined;
    }
    return { kind: 'for', variable, from, to, body, head, range: cover(keyword.range, body.range) };
  }

  private atKeyword(word: string): boolean {
    return this.cur.kind === TokenKind.Keyword && this.cur.text === word;
  }

  private parseIf(): IfStmt | undefined {
    const keyword = this.advance();
    const condition = this.parseExpr();
    const head = cover(keyword.range, this.lastEnd);
    const then = this.parseBody('the condition');
    if (!then) {
      return undefined;
    }
    if (!this.atKeyword('else')) {
      return { kind: 'if', condition, then, head, range: cover(keyword.range, then.range) };
    }
    this.advance();
    let otherwise: Block | IfStmt | undefined;
    if (this.atKeyword('if')) {
      if (!this.enter(this.cur.range)) {
        return undefined;
      }
      otherwise = this.parseIf();
      this.leave();
    } else {
      otherwise = this.parseBody(`'else'`);
    }
    if (!otherwise) {
      return undefined;
    }
    return { kind: 'if', condition, then, otherwise, head, range: cover(keyword.range, otherwise.range) };
  }

  private parseWhile(): WhileStmt | undefined {
    const keyword = this.advance();
    const condition = this.parseExpr();
    const head = cover(keyword.range, this.lastEnd);
    const body = this.parseBody('the condition');
    if (!body) {
      return undefined;
    }
    return { kind: 'while', condition, body, head, range: cover(keyword.range, body.range) };
  }

  private parseProc(): ProcStmt | undefined {
    const keyword = this.advance();
    const name = this.parseDeclaredName(`a procedure name after 'proc'`);
    if (!name) {
      return undefined;
    }
    if (!this.at(TokenKind.LParen)) {
      this.expected(`'(' and the parameters of ${name.name} (proc ${name.name}(a, b) { ... })`);
      return undefined;
    }
    const params: Identifier[] = [];
    this.advance();
    this.parens++;
    while (!this.at(TokenKind.RParen)) {
      const param = this.parseDeclaredName(`a parameter name or ')' in proc ${name.name}`);
      if (!param) break;
      params.push(param);
      if (this.at(TokenKind.Comma)) {
        this.advance();
      } else if (!this.at(TokenKind.RParen)) {
        this.expected(`',' or ')' in the parameters of ${name.name}`);
        break;
      }
    }
    this.parens--;
    if (this.panic) {
      return undefined;
    }
    this.advance();
    const head = cover(keyword.range, this.lastEnd);
    const body = this.parseBody(`the parameters of ${name.name}`);
    if (!body) {
      return undefined;
    }
    return { kind: 'proc', name, params, body, head, range: cover(keyword.range, body.range) };
  }

  /** `expect cond`, or `expect KIND { ... }` (a name followed by a block on the same line). */
  private parseExpect(): ExpectStmt | ExpectReportStmt | undefined {
    const keyword = this.advance();
    const t = this.cur;
    if (t.kind === TokenKind.Identifier && this.tokens[this.pos + 1]?.kind === TokenKind.LBrace) {
      this.advance();
      const report: Identifier = { kind: 'identifier', name: t.text, range: t.range };
      const head = cover(keyword.range, t.range);
      const body = this.parseBody(`expect ${t.text}`);
      if (!body) return undefined;
      return { kind: 'expect-report', report, body, head, range: cover(keyword.range, body.range) };
    }
    const condition = this.parseExpr();
    const range = cover(keyword.range, this.lastEnd);
    return { kind: 'expect', condition, head: range, range };
  }

  /** `on cpu N { ... }`, `on irq { ... }`, `on softirq { ... }`. */
  private parseOn(): OnCpuStmt | OnContextStmt | undefined {
    const keyword = this.advance();
    for (const context of ['irq', 'softirq'] as const) {
      if (!this.atKeyword(context)) continue;
      this.advance();
      const head = cover(keyword.range, this.lastEnd);
      const body = this.parseBody(`'${context}'`);
      if (!body) return undefined;
      return { kind: 'on-context', context, body, head, range: cover(keyword.range, body.range) };
    }
    if (!this.atKeyword('cpu')) {
      this.expected(`'cpu', 'irq' or 'softirq' after 'on' (on cpu 1 { ... }, on irq { ... })`);
      return undefined;
    }
    this.advance();
    const cpu = this.parseExpr();
    const head = cover(keyword.range, this.lastEnd);
    const body = this.parseBody('the CPU number');
    if (!body) return undefined;
    return { kind: 'on-cpu', cpu, body, head, range: cover(keyword.range, body.range) };
  }

  /** `print item, item, ...` / `log item, ...`: at least one item, each a string literal or an expression. */
  private parsePrint(): PrintStmt | undefined {
    const keyword = this.advance();
    const items: Expr[] = [];
    for (;;) {
      items.push(this.parseExpr());
      if (this.panic) return undefined;
      if (!this.at(TokenKind.Comma)) break;
      this.advance();
    }
    const range = cover(keyword.range, this.lastEnd);
    return { kind: 'print', toLog: keyword.text === 'log', items, head: range, range };
  }

  /** `push list, value`: the list is an expression (a name, an item of a list of lists is not a thing). */
  private parsePush(): PushStmt | undefined {
    const keyword = this.advance();
    const list = this.parsePostfix();
    if (this.panic) return undefined;
    if (!this.at(TokenKind.Comma)) {
      this.expected(`',' and the value to push after the list (push pool, p)`);
      return undefined;
    }
    this.advance();
    const value = this.parseExpr();
    if (this.panic) return undefined;
    const range = cover(keyword.range, this.lastEnd);
    return { kind: 'push', list, value, head: range, range };
  }

  /** `include "file.kmem"`: one string literal. */
  private parseInclude(): IncludeStmt | undefined {
    const keyword = this.advance();
    const t = this.cur;
    if (t.kind !== TokenKind.String) {
      this.expected(`the file to include, as a string (include "lib/pools.kmem")`);
      return undefined;
    }
    this.advance();
    const range = cover(keyword.range, t.range);
    const path = typeof t.value === 'string' ? t.value : '';
    return { kind: 'include', path, pathRange: t.range, head: range, range };
  }

  private parseReturn(): ReturnStmt {
    const keyword = this.advance();
    const k = this.cur.kind;
    if (k === TokenKind.Newline || k === TokenKind.Semicolon || k === TokenKind.Eof || k === TokenKind.RBrace) {
      return { kind: 'return', head: keyword.range, range: keyword.range };
    }
    const value = this.parseExpr();
    const range = cover(keyword.range, this.lastEnd);
    return { kind: 'return', value, head: range, range };
  }

  /** `{ statements }` after a statement header, "{" on the header's line; undefined (and panic) when broken. */
  private parseBody(after: string): Block | undefined {
    if (this.panic) {
      return undefined;
    }
    if (!this.at(TokenKind.LBrace)) {
      this.expected(`'{' after ${after}`);
      return undefined;
    }
    return this.parseBlock();
  }

  private parseBlock(): Block | undefined {
    if (!this.enter(this.cur.range)) {
      return undefined; // the "{" stays: recovery skips the whole block
    }
    const open = this.advance();
    this.blocks++;
    const statements = this.parseStatements(true);
    this.blocks--;
    this.leave();
    if (!this.at(TokenKind.RBrace)) {
      this.fail('KM1003', `expected '}' to close this block`, open.range);
      return { statements, range: cover(open.range, this.lastEnd) };
    }
    const close = this.advance();
    return { statements, range: cover(open.range, close.range) };
  }

  private parseMachine(): MachineStmt | undefined {
    const keyword = this.advance();
    if (!this.at(TokenKind.LBrace)) {
      this.expected(`'{' after 'machine' (machine { memory 256M; cpus 2 })`);
      this.skipBrokenMachineBlock();
      return undefined;
    }
    const open = this.advance();
    const entries: MachineEntry[] = [];
    let closed = false;
    for (;;) {
      while (this.at(TokenKind.Newline) || this.at(TokenKind.Semicolon)) {
        this.advance();
      }
      const t = this.cur;
      if (t.kind === TokenKind.RBrace) {
        closed = true;
        break;
      }
      if (t.kind === TokenKind.Eof || this.looksLikeStatement(true)) {
        break; // the block was not closed: what follows is the script
      }
      this.blocks++;
      const entry = this.parseMachineEntry();
      if (!this.panic) {
        this.endStatement();
      }
      this.blocks--;
      if (this.panic) {
        this.sync('entry');
      } else if (entry) {
        entries.push(entry);
      }
    }
    let end = this.lastEnd;
    if (closed) {
      end = this.advance().range;
    } else {
      this.note('KM1003', `expected '}' to close the machine block`, open.range);
      // Resume with the statement that ended the block: step back to the line break before it.
      while (this.pos > 0 && this.tokens[this.pos - 1]!.kind === TokenKind.Newline) {
        this.pos--;
      }
    }
    const range = cover(keyword.range, end);
    return { kind: 'machine', entries, keyword: keyword.range, range, head: range };
  }

  /** After `machine` without "{": skip the entries on this line and on the lines that read as entries. */
  private skipBrokenMachineBlock(): void {
    for (;;) {
      while (!this.at(TokenKind.Newline) && !this.at(TokenKind.Eof)) {
        const closing = this.at(TokenKind.RBrace) && this.closesLine();
        this.advance();
        if (closing) {
          return;
        }
      }
      let next = this.pos;
      while (this.tokens[next]!.kind === TokenKind.Newline) {
        next++;
      }
      const t = this.tokens[next]!;
      if (t.kind === TokenKind.RBrace || (t.kind === TokenKind.Identifier && MACHINE_ENTRIES.includes(t.text))) {
        this.pos = next;
        continue;
      }
      return;
    }
  }
  private parseMachineEntry(): MachineEntry | undefined {
    const t = this.cur;
    if (t.kind !== TokenKind.Identifier && t.kind !== TokenKind.Keyword) {
      this.expected(`a machine entry (${MACHINE_ENTRIES.join(', ')})`);
      return undefined;
    }
    if (!MACHINE_ENTRIES.includes(t.text)) {
      const hint = closest(t.text, MACHINE_ENTRIES);
      this.fail(
        'KM2007',
        `unknown machine entry '${t.text}'${hint ? `; did you mean '${hint}'?` : ''} (known: ${MACHINE_ENTRIES.join(', ')})`,
        t.range,
      );
      return undefined;
    }
    this.advance();
    const name: Identifier = { kind: 'identifier', name: t.text, range: t.range };
    const value = this.parseExpr();
    if (this.panic) {
      return undefined;
    }
    return { name, value, range: cover(t.range, this.lastEnd) };
  }

  // ---- expressions --------------------------------------------------------------------------------

  private errorExpr(at: Range): Expr {
    return { kind: 'error', range: at, depth: 1 };
  }

  parseExpr(): Expr {
    return this.parseBinary(1);
  }

  /** After a lone expression: only line breaks may follow. */
  expectEnd(): void {
    while (this.at(TokenKind.Newline)) this.advance();
    if (!this.panic && !this.at(TokenKind.Eof)) this.expected('the end of the expression');
  }

  private parseBinary(minPrecedence: number): Expr {
    let left = this.parseUnary();
    for (;;) {
      if (this.panic) {
        return left;
      }
      const entry = BINARY_PRECEDENCE.get(this.cur.kind);
      if (!entry || entry[1] < minPrecedence) {
        return left;
      }
      const [op, precedence] = entry;
      const opToken = this.advance();
      const right = this.parseBinary(precedence + 1);
      const depth = Math.max(left.depth, right.depth) + 1;
      left = { kind: 'binary', op, left, right, opRange: opToken.range, range: cover(left.range, right.range), depth };
      if (depth > MAX_NESTING) {
        this.fail('KM1007', `expression too deeply nested (more than ${MAX_NESTING} levels)`, left.range);
        return left;
      }
    }
  }

  private parseUnary(): Expr {
    const op = UNARY_OPS.get(this.cur.kind);
    if (op === undefined) {
      if (this.cur.kind === TokenKind.Keyword && this.cur.text === 'pop') {
        const keyword = this.advance();
        const list = this.parsePostfix();
        return {
          kind: 'pop',
          list,
          keyword: keyword.range,
          range: cover(keyword.range, list.range),
          depth: list.depth + 1,
        };
      }
      return this.parsePostfix();
    }
    const t = this.advance();
    if (!this.enter(t.range)) {
      return this.errorExpr(t.range);
    }
    const operand = this.parseUnary();
    this.leave();
    return { kind: 'unary', op, operand, range: cover(t.range, operand.range), depth: operand.depth + 1 };
  }

  /** A primary followed by any number of `[index]`. */
  private parsePostfix(): Expr {
    let expr = this.parsePrimary();
    while (!this.panic && this.tokens[this.pos]!.kind === TokenKind.LBracket) {
      const open = this.advance();
      if (!this.enter(open.range)) {
        return this.errorExpr(open.range);
      }
      this.parens++;
      const index = this.parseExpr();
      this.leave();
      if (!this.panic && !this.at(TokenKind.RBracket)) {
        this.expected(`']' after the index`);
      }
      this.parens--;
      if (this.panic) {
        return expr;
      }
      const close = this.advance();
      const depth = Math.max(expr.depth, index.depth) + 1;
      expr = { kind: 'index', list: expr, index, range: cover(expr.range, close.range), depth };
    }
    return expr;
  }

  /** `[a, b, c]`, `[]`; newlines inside the brackets do not end the statement. */
  private parseList(): Expr {
    const open = this.advance();
    if (!this.enter(open.range)) {
      return this.errorExpr(open.range);
    }
    const items: Expr[] = [];
    let depth = 1;
    this.parens++;
    while (!this.at(TokenKind.RBracket)) {
      const item = this.parseExpr();
      items.push(item);
      depth = Math.max(depth, item.depth + 1);
      if (this.panic) break;
      if (this.at(TokenKind.Comma)) {
        this.advance();
        continue;
      }
      if (!this.at(TokenKind.RBracket)) {
        this.expected(`',' or ']' in the list`);
      }
      break;
    }
    this.leave();
    this.parens--;
    if (this.panic) {
      return { kind: 'list', items, range: cover(open.range, this.lastEnd), depth };
    }
    const close = this.advance();
    return { kind: 'list', items, range: cover(open.range, close.range), depth };
  }

  private parsePrimary(): Expr {
    const t = this.cur;
    switch (t.kind) {
      case TokenKind.Number:
        this.advance();
        return {
          kind: 'number',
          value: (t.value as number | bigint | undefined) ?? 0,
          malformed: t.malformed === true,
          range: t.range,
          depth: 1,
        };
      case TokenKind.String:
        this.advance();
        return {
          kind: 'string',
          value: typeof t.value === 'string' ? t.value : '',
          malformed: t.malformed === true,
          range: t.range,
          depth: 1,
        };
      case TokenKind.Identifier:
        this.advance();
        if (this.at(TokenKind.LParen)) {
          return this.parseCall({ kind: 'identifier', name: t.text, range: t.range });
        }
        return { kind: 'name', name: t.text, range: t.range, depth: 1 };
      case TokenKind.Keyword:
        if (FUTURE_VALUE_WORDS.has(t.text)) {
          this.note('KM2005', reservedMessage(t.text, 'a value'), t.range);
          this.advance();
          return this.errorExpr(t.range);
        }
        if (FUTURE_STATEMENT_WORDS.has(t.text)) {
          this.fail('KM2005', reservedMessage(t.text, 'a name'), t.range);
          return this.errorExpr(t.range);
        }
        break;
      case TokenKind.LBracket:
        return this.parseList();
      case TokenKind.LParen: {
        this.advance();
        if (!this.enter(t.range)) {
          return this.errorExpr(t.range);
        }
        this.parens++;
        const inner = this.parseExpr();
        this.leave();
        if (!this.panic && !this.at(TokenKind.RParen)) {
          this.expected(`')'`);
        }
        this.parens--;
        if (this.panic) {
          return inner;
        }
        const close = this.advance();
        return { ...inner, range: cover(t.range, close.range) };
      }
    }
    this.expected('an expression', 'KM1006');
    return this.errorExpr(t.range);
  }

  private parseCall(callee: Identifier): Expr {
    const open = this.advance();
    if (!this.enter(open.range)) {
      return this.errorExpr(open.range);
    }
    const args: Expr[] = [];
    let depth = 1;
    this.parens++;
    if (!this.at(TokenKind.RParen)) {
      for (;;) {
        const arg = this.parseExpr();
        args.push(arg);
        depth = Math.max(depth, arg.depth + 1);
        if (this.panic) {
          break;
        }
        if (this.at(TokenKind.Comma)) {
          this.advance();
          if (this.at(TokenKind.RParen)) {
            break; // a trailing comma, as at the end of a multi-line argument list
          }
          continue;
        }
        if (!this.at(TokenKind.RParen)) {
          this.expected(`',' or ')' in the arguments of ${callee.name}`);
        }
        break;
      }
    }
    this.leave();
    this.parens--;
    if (this.panic) {
      return { kind: 'call', callee, args, range: cover(callee.range, this.lastEnd), depth };
    }
    const close = this.advance();
    return { kind: 'call', callee, args, range: cover(callee.range, close.range), depth };
  }
}

function reservedMessage(word: string, as: string): string {
  return FUTURE_VALUE_WORDS.has(word)
    ? `'${word}' is reserved for a future version of the language; write 1 or 0`
    : FUTURE_STATEMENT_WORDS.has(word)
      ? `'${word}' is reserved for a future statement and cannot be used as ${as}`
      : `'${word}' is a keyword and cannot be used as ${as}`;
}

/** The candidate nearest to `word` by edit distance, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) {
    return 99;
  }
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
