/*
 * Navigation and structure: what an editor asks to move around a scenario and see its shape, as plain
 * functions over its text: go to definition, references, rename, document symbols, folding ranges and
 * semantic tokens. No editor or protocol types: ranges are the engine's (diagnostics.ts: 0-based lines,
 * UTF-16 characters), and semantic tokens encode to plain numbers.
 *
 * Invariants:
 *   - Every answer comes from one analysis of the text, as analyze() makes it (tokens, the recovered syntax
 *     tree, the checker's bindings), so a name refers to what the checker resolved it to and navigation
 *     never disagrees with diagnostics or the compiler. Scopes are the checker's: every block is one, a `for`
 *     variable belongs to its body, a shadowing `let` in an inner block is another variable, a procedure
 *     sees its own scopes and the top-level variables declared before it; procedures are one global
 *     namespace (a call before the definition still refers to the procedure, as its KM2003 message says).
 *   - An occurrence's range covers exactly its name token (a parenthesised `(x)` is narrowed to `x`).
 *   - Nothing throws on broken text: what the parser could not recover has no occurrences, so it is simply
 *     not navigable. Lists come in document order.
 *   - A rename changes meaning never: it is refused when the new name is no identifier, a reserved word or
 *     a builtin, or when a variable or procedure of that name is visible where the renamed one is (either
 *     direction: shadowing or capture), and the edited text is analysed again to confirm that every name
 *     still refers to the same thing and no new diagnostic appears.
 *   - Includes: given the text's file name and an IncludeHost, definition, references and rename check the
 *     text with the files it includes (as analyze() does), so a name declared in an included file refers
 *     to that declaration: definition answers its file and range. References stay in the text itself, and
 *     a rename of a name declared in an included file is refused (it would edit one file of several).
 *     Without a host, or when no include resolves, the answers are those of the text alone.
 *
 * The last text's parse and its check are cached (one entry each, and one for the last text checked with
 * its includes, kept while none of its files changes), so the editor's burst of requests after an edit
 * (symbols, folding, semantic tokens) analyses it once; folding and symbols need only the parse.
 */

import { Block, Expr, IfStmt, LetStmt, Stmt, statementParts } from './ast';
import { BUILTIN_CONSTANTS, BUILTIN_FUNCTIONS } from './builtins';
import { CheckResult, VarInfo, check as checkScript } from './checker';
import type { Hover } from './completion';
import { Diagnostic, Position, Range, comparePositions } from './diagnostics';
import { IncludeGraph, IncludeHost, resolveIncludes } from './include';
import { ParseResult, parse } from './parser';
import { ACTIVE_KEYWORDS, RESERVED_WORDS, Token, TokenKind } from './tokens';

// ---- public types -------------------------------------------------------------------------------

/** A range in a named file: the scenario's own (the file name it was given) or one it includes. */
export interface FileLocation {
  fileName: string;
  range: Range;
}

/** A text edit of a rename: replace `range` with `newText`. */
export interface TextEdit {
  range: Range;
  newText: string;
}

export type SymbolKind = 'procedure' | 'variable' | 'machine' | 'block' | 'property';

/**
 * An entry of the document outline. `range` is the whole construct (`let p = ...`, a procedure with its
 * body), `selectionRange` its name, inside `range`. Machine entries are 'property' symbols.
 */
export interface DocumentSymbol {
  name: string;
  kind: SymbolKind;
  /** Short extra text: a procedure's parameters, an entry's value, 'parameter', 'loop variable'. */
  detail?: string;
  range: Range;
  selectionRange: Range;
  children?: DocumentSymbol[];
}

/** A foldable run of lines, both inclusive (the editor keeps startLine visible). */
export interface FoldingRange {
  startLine: number;
  endLine: number;
  kind?: 'comment' | 'region';
}

/** The semantic token types, in legend order: a token's type index is its position here. */
export const SEMANTIC_TOKEN_TYPES = [
  'keyword',
  'function',
  'variable',
  'parameter',
  'property',
  'number',
  'string',
  'comment',
  'operator',
  'enumMember',
  'macro',
] as const;

/** The semantic token modifiers, in legend order: modifier i is bit 1 << i. */
export const SEMANTIC_TOKEN_MODIFIERS = ['declaration', 'readonly', 'defaultLibrary'] as const;

export type SemanticTokenType = (typeof SEMANTIC_TOKEN_TYPES)[number];
export type SemanticTokenModifier = (typeof SEMANTIC_TOKEN_MODIFIERS)[number];

/** One classified token, on one line. */
export interface SemanticToken {
  line: number;
  character: number;
  length: number;
  type: SemanticTokenType;
  modifiers: SemanticTokenModifier[];
}

// ---- the index: every name occurrence of one text -----------------------------------------------

/** What a name token denotes. */
type Target =
  | { readonly kind: 'variable'; readonly info: VarInfo }
  | { readonly kind: 'procedure'; readonly id: number }
  | { readonly kind: 'builtin'; readonly name: string }
  /** A name the checker could not resolve (reported), or a declaration it refused. */
  | { readonly kind: 'unresolved'; readonly name: string; readonly call: boolean }
  | { readonly kind: 'entry'; readonly name: string }
  /** A word that is no name of the program: a machine entry's value (y, n, sv39) or an expect report kind. */
  | { readonly kind: 'word'; readonly name: string; readonly role: 'machine value' | 'report kind' };

interface Occurrence {
  /** Offset of the range's start in the text. */
  readonly offset: number;
  readonly range: Range;
  readonly target: Target;
  readonly declaration: boolean;
}

interface Comment {
  readonly line: number;
  readonly character: number;
  readonly length: number;
  /** Nothing but blanks before it on its line. */
  readonly wholeLine: boolean;
  readonly text: string;
}

interface Region {
  readonly start: Position;
  readonly end: Position;
}

/** The parse of one text: enough for folding and the outline. */
interface Parsed {
  readonly source: string;
  readonly parse: ParseResult;
  readonly tokens: readonly Token[];
  readonly lineStarts: readonly number[];
  readonly comments: readonly Comment[];
}

/** Where a text comes from: its file name and the host that reads the files it includes. */
interface Origin {
  readonly fileName: string;
  readonly host: IncludeHost;
}

/** A parsed text checked, with every name occurrence indexed: for navigation, rename and semantic tokens. */
interface Index extends Parsed {
  /** Set when the text was checked with the files it includes (file 0 of `graph` is this text). */
  readonly origin?: Origin;
  readonly graph?: IncludeGraph;
  readonly check: CheckResult;
  /** Lexical, syntax and check diagnostics, as analyze() gives them. */
  readonly diagnostics: readonly Diagnostic[];
  /** Every occurrence, in document order. */
  readonly occurrences: Occurrence[];
  /** Occurrences by the offset of their start. */
  readonly byStart: Map<number, Occurrence>;
  /** Occurrences of each variable, procedure and builtin (see targetKey), in document order. */
  readonly groups: Map<Key, Occurrence[]>;
  /** Where each variable is visible: from the end of its declaration to the end of its scope. */
  readonly regions: Map<VarInfo, Region>;
  readonly params: Set<VarInfo>;
  readonly procByName: Map<string, number>;
}

let cachedParse: Parsed | undefined;
let cachedIndex: Index | undefined;
let cachedWithIncludes: Index | undefined;

function parsedOf(source: string): Parsed {
  if (cachedIndex?.source === source) return cachedIndex;
  if (cachedParse?.source !== source) cachedParse = parseText(source);
  return cachedParse;
}

function indexOf(source: string): Index {
  if (cachedIndex?.source !== source) cachedIndex = buildIndex(parsedOf(source));
  return cachedIndex;
}

/**
 * The index of `source` checked with the files it includes, when a host is given and resolves at least one
 * include; otherwise the index of the text alone. Reused while the text and every included file are the same.
 */
function indexIn(source: string, fileName: string | undefined, host: IncludeHost | undefined): Index {
  if (fileName === undefined || host === undefined) return indexOf(source);
  const parsed = parsedOf(source);
  const graph = resolveIncludes({ fileName, text: source, script: parsed.parse.script }, host);
  if (graph.files.length === 1) return indexOf(source);
  const cached = cachedWithIncludes?.graph?.files;
  const same =
    cachedWithIncludes?.origin?.fileName === fileName &&
    cached?.length === graph.files.length &&
    cached.every((f, i) => f.fileName === graph.files[i]!.fileName && f.text === graph.files[i]!.text);
  if (!same) cachedWithIncludes = buildIndex(parsed, { fileName, host }, graph);
  return cachedWithIncludes!;
}

/** `text` indexed as `index` was: with its includes, resolved again, when `index` has them. */
function reindex(index: Index, text: string): Index {
  const parsed = parseText(text);
  const { origin } = index;
  const graph =
    origin && resolveIncludes({ fileName: origin.fileName, text, script: parsed.parse.script }, origin.host);
  return buildIndex(parsed, origin, graph);
}

function parseText(source: string): Parsed {
  const parsed = parse(source);
  return {
    source,
    parse: parsed,
    tokens: parsed.tokens,
    lineStarts: computeLineStarts(source),
    comments: findComments(source, parsed.tokens),
  };
}

/** What groups occurrences: a variable's VarInfo, a procedure's index, a builtin's name. */
type Key = VarInfo | number | string;

function targetKey(t: Target): Key | undefined {
  switch (t.kind) {
    case 'variable':
      return t.info;
    case 'procedure':
      return t.id;
    case 'builtin':
      return t.name;
    default:
      return undefined;
  }
}

function computeLineStarts(source: string): number[] {
  const starts = [0];
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 13 && source.charCodeAt(i + 1) === 10) i++;
    if (c === 10 || c === 13) starts.push(i + 1);
  }
  return starts;
}

/** Index of the first token whose start is at or after `p`. */
function lowerBound(tokens: readonly Token[], p: Position): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePositions(tokens[mid]!.range.start, p) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Checks a parsed text (as analyze() does, with its include graph when given) and indexes every name in it. */
function buildIndex(parsed: Parsed, origin?: Origin, graph?: IncludeGraph): Index {
  const { script } = parsed.parse;
  const { tokens, lineStarts } = parsed;
  const check = checkScript(script, graph);
  const occurrences: Occurrence[] = [];
  const regions = new Map<VarInfo, Region>();
  const params = new Set<VarInfo>();
  const procByName = new Map<string, number>();
  check.procs.forEach((p, id) => {
    procByName.set(p.name, id);
    for (const v of p.paramInfos) params.add(v);
  });
  const procOf = new Map(check.procs.map((p, id) => [p.definition, id] as const));
  /** Loop variables around the statement being walked, innermost last (for KM2015 assignments). */
  const loopVariables: VarInfo[] = [];

  /** The name token inside `range` (a parenthesised name's range covers its parentheses). */
  const narrow = (range: Range, name: string): Range => {
    if (range.start.line === range.end.line && range.end.character - range.start.character === name.length) {
      return range;
    }
    for (let i = lowerBound(tokens, range.start); i < tokens.length; i++) {
      const t = tokens[i]!;
      if (comparePositions(t.range.start, range.end) >= 0) break;
      if (t.kind === TokenKind.Identifier && t.text === name) return t.range;
    }
    return range;
  };
  const add = (range: Range, target: Target, declaration = false): void => {
    occurrences.push({ offset: lineStarts[range.start.line]! + range.start.character, range, target, declaration });
  };
  const undeclared = (name: string, call = false): Target =>
    BUILTIN_FUNCTIONS.has(name) || BUILTIN_CONSTANTS.has(name)
      ? { kind: 'builtin', name }
      : { kind: 'unresolved', name, call };
  const declared = (info: VarInfo | undefined, name: string, range: Range, start: Position, end: Position): void => {
    if (info) {
      add(range, { kind: 'variable', info }, true);
      regions.set(info, { start, end });
    } else {
      add(range, undeclared(name), true);
    }
  };

  const expr = (e: Expr, inMachine: boolean): void => {
    switch (e.kind) {
      case 'name': {
        const range = narrow(e.range, e.name);
        const info = check.bindings.get(e);
        const proc = check.procRefs.get(e) ?? procByName.get(e.name);
        const machineWord = inMachine && !BUILTIN_CONSTANTS.has(e.name);
        add(
          range,
          info
            ? { kind: 'variable', info }
            : proc !== undefined
              ? { kind: 'procedure', id: proc }
              : machineWord
                ? { kind: 'word', name: e.name, role: 'machine value' }
                : undeclared(e.name),
        );
        return;
      }
      case 'call': {
        const name = e.callee.name;
        const proc = check.procCalls.get(e) ?? (BUILTIN_FUNCTIONS.has(name) ? undefined : procByName.get(name));
        add(e.callee.range, proc !== undefined ? { kind: 'procedure', id: proc } : undeclared(name, true));
        for (const arg of e.args) expr(arg, inMachine);
        return;
      }
      case 'unary':
        expr(e.operand, inMachine);
        return;
      case 'binary':
        expr(e.left, inMachine);
        expr(e.right, inMachine);
        return;
      case 'list':
        for (const item of e.items) expr(item, inMachine);
        return;
      case 'index':
        expr(e.list, inMachine);
        expr(e.index, inMachine);
        return;
      case 'pop':
        expr(e.list, inMachine);
        return;
      default:
        return;
    }
  };

  const block = (b: Block): void => {
    for (const st of b.statements) statement(st, b.range.end);
  };

  const statement = (st: Stmt, scopeEnd: Position): void => {
    switch (st.kind) {
      case 'let':
        expr(st.init, false);
        declared(check.bindings.get(st), st.name.name, st.name.range, st.range.end, scopeEnd);
        return;
      case 'assign': {
        expr(st.value, false);
        const range = narrow(st.target.range, st.target.name);
        const info = check.bindings.get(st) ?? loopVariables.findLast((v) => v.name === st.target.name); // KM2015
        add(range, info ? { kind: 'variable', info } : undeclared(st.target.name));
        return;
      }
      case 'expr':
        expr(st.expr, false);
        return;
      case 'index-assign':
        expr(st.target, false);
        expr(st.value, false);
        return;
      case 'push':
        expr(st.list, false);
        expr(st.value, false);
        return;
      case 'repeat':
        expr(st.count, false);
        block(st.body);
        return;
      case 'for-each':
      case 'for': {
        for (const e of statementParts(st).exprs) expr(e, false);
        const info = check.bindings.get(st);
        declared(info, st.variable.name, st.variable.range, st.body.range.start, st.body.range.end);
        if (info) loopVariables.push(info);
        block(st.body);
        if (info) loopVariables.pop();
        return;
      }
      case 'if':
        for (let branch: IfStmt | undefined = st; branch;) {
          expr(branch.condition, false);
          block(branch.then);
          const otherwise: Block | IfStmt | undefined = branch.otherwise;
          if (otherwise && 'kind' in otherwise) {
            branch = otherwise;
          } else {
            if (otherwise) block(otherwise);
            branch = undefined;
          }
        }
        return;
      case 'while':
        expr(st.condition, false);
        block(st.body);
        return;
      case 'proc': {
        const id = procOf.get(st);
        if (id === undefined) {
          add(st.name.range, undeclared(st.name.name, true), true);
        } else {
          add(st.name.range, { kind: 'procedure', id }, true);
        }
        const infos = id === undefined ? [] : check.procs[id]!.paramInfos;
        for (const p of st.params) {
          const info = infos.find((v) => v.declaration === p.range);
          declared(info, p.name, p.range, st.body.range.start, st.body.range.end);
        }
        const saved = loopVariables.splice(0);
        block(st.body);
        loopVariables.push(...saved);
        return;
      }
      case 'return':
        if (st.value) expr(st.value, false);
        return;
      case 'expect':
        expr(st.condition, false);
        return;
      case 'expect-report':
        add(st.report.range, { kind: 'word', name: st.report.name, role: 'report kind' });
        block(st.body);
        return;
      case 'on-cpu':
        expr(st.cpu, false);
        block(st.body);
        return;
      case 'on-context':
        block(st.body);
        return;
      case 'print':
        for (const item of st.items) expr(item, false);
        return;
      case 'machine':
        for (const entry of st.entries) {
          add(entry.name.range, { kind: 'entry', name: entry.name.name });
          expr(entry.value, true);
        }
        return;
    }
  };

  for (const st of script.statements) statement(st, script.range.end);
  occurrences.sort((a, b) => a.offset - b.offset);

  const byStart = new Map<number, Occurrence>();
  const groups = new Map<Key, Occurrence[]>();
  for (const o of occurrences) {
    byStart.set(o.offset, o);
    const key = targetKey(o.target);
    if (key === undefined) continue;
    const group = groups.get(key);
    if (group) group.push(o);
    else groups.set(key, [o]);
  }
  return {
    ...parsed,
    origin,
    graph,
    check,
    diagnostics: [...parsed.parse.diagnostics, ...check.diagnostics],
    occurrences,
    byStart,
    groups,
    regions,
    params,
    procByName,
  };
}

/** The `#` comments: the lexer drops them, so they are what is left in the gaps between tokens. */
function findComments(source: string, tokens: readonly Token[]): Comment[] {
  const comments: Comment[] = [];
  let gapStart = 0;
  let lineHasToken = false;
  for (const t of tokens) {
    for (let i = gapStart; i < t.start; i++) {
      if (source.charCodeAt(i) !== 35) continue;
      // The comment runs to the line break (or the end): the next token, on the same line.
      const length = t.start - i;
      comments.push({
        line: t.range.start.line,
        character: t.range.start.character - length,
        length,
        wholeLine: !lineHasToken,
        text: source.slice(i, t.start),
      });
      break;
    }
    lineHasToken = t.kind !== TokenKind.Newline;
    gapStart = t.end;
  }
  return comments;
}

/** The token at `p` (a cursor just after a name counts as on it), names preferred over punctuation. */
function tokenAt(index: Parsed, p: Position): Token | undefined {
  const { tokens } = index;
  const i = lowerBound(tokens, p);
  const candidates = [tokens[i], tokens[i - 1]].filter(
    (t): t is Token =>
      t !== undefined &&
      t.kind !== TokenKind.Newline &&
      t.kind !== TokenKind.Eof &&
      comparePositions(t.range.start, p) <= 0 &&
      comparePositions(p, t.range.end) <= 0,
  );
  return candidates.find((t) => t.kind === TokenKind.Identifier || t.kind === TokenKind.Keyword) ?? candidates[0];
}

function occurrenceAt(index: Index, p: Position): Occurrence | undefined {
  const t = tokenAt(index, p);
  return t && index.byStart.get(t.start);
}

const copyRange = (r: Range): Range => ({
  start: { line: r.start.line, character: r.start.character },
  end: { line: r.end.line, character: r.end.character },
});

// ---- definition and references --------------------------------------------------------------------

/** The declaration a variable or procedure target refers to: its file (index into the include graph) and name. */
function declarationOf(index: Index, target: Target | undefined): { file: number; range: Range } | undefined {
  if (target?.kind === 'variable') return { file: target.info.file, range: target.info.declaration };
  if (target?.kind === 'procedure') {
    const proc = index.check.procs[target.id]!;
    return { file: proc.file, range: proc.definition.name.range };
  }
  return undefined;
}

/** An included file's name as the scenario's folder sees it: `lib/pools.kmem`. */
function shownName(index: Index, fileName: string): string {
  const from = index.origin?.fileName ?? '';
  const folder = from.slice(0, Math.max(from.lastIndexOf('/'), from.lastIndexOf('\\')) + 1);
  return folder !== '' && fileName.startsWith(folder) ? fileName.slice(folder.length).replace(/\\/g, '/') : fileName;
}

/** The name of file `file` (index into the include graph), as shownName() gives it; undefined for the text's own. */
function includedName(index: Index, file: number): string | undefined {
  const fileName = file === 0 ? undefined : index.graph?.files[file]?.fileName;
  return fileName === undefined ? undefined : shownName(index, fileName);
}

/** `line 3`, or `lib/pools.kmem, line 3` for a range in an included file. */
function placeOf(index: Index, file: number, range: Range): string {
  const name = includedName(index, file);
  return name === undefined ? `line ${lineOf(range)}` : `${name}, line ${lineOf(range)}`;
}

/**
 * Where the name at `position` is declared: a variable's `let`, parameter or `for` variable, a procedure's
 * name in its `proc` line. Undefined for builtins, keywords, undeclared names and anything else.
 * Given the text's file name (and a host for its includes), the answer names its file: `fileName` itself,
 * or the included file that declares the name.
 */
export function definition(source: string, position: Position): Range | undefined;
export function definition(
  source: string,
  position: Position,
  fileName: string,
  includes?: IncludeHost,
): FileLocation | undefined;
export function definition(
  source: string,
  position: Position,
  fileName?: string,
  includes?: IncludeHost,
): Range | FileLocation | undefined {
  const index = indexIn(source, fileName, includes);
  const declaration = declarationOf(index, occurrenceAt(index, position)?.target);
  if (!declaration) return undefined;
  const range = copyRange(declaration.range);
  if (fileName === undefined) return range;
  return { fileName: declaration.file === 0 ? fileName : index.graph!.files[declaration.file]!.fileName, range };
}

/**
 * Hover of a name declared in a file the text includes (the variable or procedure, and where it is declared);
 * undefined for anything else, which completion.ts's hover() answers.
 */
export function includedHover(
  source: string,
  position: Position,
  fileName: string,
  includes: IncludeHost,
): Hover | undefined {
  const index = indexIn(source, fileName, includes);
  const occurrence = occurrenceAt(index, position);
  const target = occurrence?.target;
  const declaration = declarationOf(index, target);
  if (!occurrence || !declaration || declaration.file === 0) return undefined;
  const where = placeOf(index, declaration.file, declaration.range);
  let head: string;
  let text: string;
  if (target?.kind === 'procedure') {
    const proc = index.check.procs[target.id]!;
    head = `proc ${proc.name}(${proc.params.join(', ')})`;
    text = `Procedure defined in ${where}.`;
  } else if (target?.kind === 'variable') {
    head = `let ${target.info.name}`;
    text = `Variable declared in ${where}.`;
  } else {
    return undefined;
  }
  return { contents: `\`\`\`kmem\n${head}\n\`\`\`\n\n${text}`, range: copyRange(occurrence.range) };
}

/**
 * Every occurrence of the variable or procedure named at `position`, in document order (with its
 * declaration when `includeDeclaration`). A builtin gives its uses. Empty when the position names nothing.
 * Given the text's file name and a host for its includes, a name declared in an included file gives its
 * uses in this text (its declaration is not in it).
 */
export function references(
  source: string,
  position: Position,
  includeDeclaration: boolean,
  fileName?: string,
  includes?: IncludeHost,
): Range[] {
  const index = indexIn(source, fileName, includes);
  const occurrence = occurrenceAt(index, position);
  const key = occurrence && targetKey(occurrence.target);
  const group = key === undefined ? [] : (index.groups.get(key) ?? []);
  return group.filter((o) => includeDeclaration || !o.declaration).map((o) => copyRange(o.range));
}

// ---- rename -------------------------------------------------------------------------------------

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type RenameTarget = { occurrence: Occurrence; name: string } | { error: string };

function renameTarget(index: Index, position: Position): RenameTarget {
  const token = tokenAt(index, position);
  if (!token || (token.kind !== TokenKind.Identifier && token.kind !== TokenKind.Keyword)) {
    return { error: 'there is no name here: put the cursor on a variable or a procedure to rename it' };
  }
  const name = token.text;
  if (token.kind === TokenKind.Keyword) {
    const what = ACTIVE_KEYWORDS.has(name) ? 'a keyword' : 'a reserved word';
    return { error: `'${name}' is ${what} and cannot be renamed` };
  }
  const occurrence = index.byStart.get(token.start);
  if (!occurrence) {
    return { error: `'${name}' is in text the parser could not read: fix the syntax error first` };
  }
  const target = occurrence.target;
  switch (target.kind) {
    case 'variable':
    case 'procedure': {
      const elsewhere = includedName(index, declarationOf(index, target)!.file);
      if (elsewhere !== undefined) return { error: `'${name}' is declared in ${elsewhere}: rename it there` };
      return { occurrence, name };
    }
    case 'builtin':
      return {
        error: `'${name}' is a built-in ${BUILTIN_FUNCTIONS.has(name) ? 'function' : 'constant'}, not renamable`,
      };
    case 'entry':
      return { error: `'${name}' is a machine entry and cannot be renamed` };
    case 'word':
      return {
        error: `'${name}' is ${target.role === 'report kind' ? 'a report kind' : 'a machine value'}, not renamable`,
      };
    case 'unresolved':
      return { error: `'${name}' is not a declared variable or procedure here: there is nothing to rename` };
  }
}

/**
 * Whether the name at `position` can be renamed: its range and current text, or why not (builtins,
 * keywords, machine entries, undeclared names, numbers, strings, comments; given the text's file name and
 * a host for its includes, a name declared in an included file).
 */
export function prepareRename(
  source: string,
  position: Position,
  fileName?: string,
  includes?: IncludeHost,
): { range: Range; placeholder: string } | { error: string } {
  const target = renameTarget(indexIn(source, fileName, includes), position);
  if ('error' in target) return target;
  return { range: copyRange(target.occurrence.range), placeholder: target.name };
}

/** Why `name` cannot name a variable or procedure, or undefined when it can. */
function nameProblem(name: string): string | undefined {
  if (name === '') return 'the new name is empty';
  if (!NAME.test(name)) {
    return `'${name}' is not a name: use ASCII letters, digits and '_', not starting with a digit`;
  }
  if (ACTIVE_KEYWORDS.has(name)) return `'${name}' is a keyword`;
  if (RESERVED_WORDS.has(name)) return `'${name}' is a reserved word (kept for a future version of the language)`;
  if (BUILTIN_FUNCTIONS.has(name)) return `'${name}' is a built-in function`;
  if (BUILTIN_CONSTANTS.has(name)) return `'${name}' is a built-in constant`;
  return undefined;
}

const lineOf = (r: { start: Position }): number => r.start.line + 1;

const overlaps = (a: Region, b: Region): boolean =>
  comparePositions(a.start, b.end) <= 0 && comparePositions(b.start, a.end) <= 0;

const inside = (p: Position, r: Region): boolean =>
  comparePositions(r.start, p) <= 0 && comparePositions(p, r.end) <= 0;

/** Why renaming `target` to `newName` would make a name refer to something else, or undefined. */
function collision(index: Index, target: Target, oldName: string, newName: string): string | undefined {
  const check = index.check;
  const proc = index.procByName.get(newName);
  if (proc !== undefined) {
    const { file, definition } = check.procs[proc]!;
    return `'${newName}' is already a procedure (${placeOf(index, file, definition.name.range)})`;
  }
  const others = check.variables.filter((v) => v.name === newName);
  const unresolved = index.occurrences.filter((o) => o.target.kind === 'unresolved' && o.target.name === newName);
  if (target.kind === 'procedure') {
    if (others.length > 0) {
      const place = placeOf(index, others[0]!.file, others[0]!.declaration);
      return `'${newName}' is already a variable (${place}): a procedure needs a name of its own`;
    }
    if (unresolved.length > 0) {
      const line = lineOf(unresolved[0]!.range);
      return `'${newName}' is used at line ${line} without a declaration: it would come to name the procedure`;
    }
    return undefined;
  }
  if (target.kind !== 'variable') return undefined;
  const region = index.regions.get(target.info);
  if (!region) return undefined;
  for (const other of others) {
    const otherRegion = index.regions.get(other);
    if (otherRegion && overlaps(region, otherRegion)) {
      const line = lineOf(other.declaration);
      return `'${newName}' already names a variable visible where '${oldName}' is (line ${line}): they would collide`;
    }
  }
  const captured = unresolved.find((o) => inside(o.range.start, region));
  if (captured) {
    const line = lineOf(captured.range);
    return `'${newName}' is used at line ${line} without a declaration: it would come to refer to '${oldName}'`;
  }
  return undefined;
}

function applyEdits(index: Index, edits: readonly TextEdit[]): string {
  const offset = (p: Position): number => index.lineStarts[p.line]! + p.character;
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let text = index.source;
  for (const e of sorted) text = text.slice(0, offset(e.range.start)) + e.newText + text.slice(offset(e.range.end));
  return text;
}

/** Analyses the renamed text: every name must denote the same thing as before and no diagnostic be new. */
function verify(index: Index, edits: readonly TextEdit[], oldName: string, newName: string): string | undefined {
  const after = reindex(index, applyEdits(index, edits));
  const why = `renaming '${oldName}' to '${newName}' would change the program's meaning`;
  const counts = new Map<string, number>();
  for (const d of index.diagnostics) counts.set(d.code, (counts.get(d.code) ?? 0) + 1);
  for (const d of after.diagnostics) {
    const left = (counts.get(d.code) ?? 0) - 1;
    const place = d.file === undefined ? 'line' : `${shownName(index, d.file)}, line`;
    if (left < 0) return `${why}: ${d.message} (${place} ${lineOf(d.range)})`;
    counts.set(d.code, left);
  }
  const a = index.occurrences;
  const b = after.occurrences;
  const forward = new Map<Key, Key>();
  const backward = new Map<Key, Key>();
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    const line = lineOf((x ?? y)!.range);
    if (!x || !y || x.declaration !== y.declaration || x.target.kind !== y.target.kind) {
      return `${why} (line ${line})`;
    }
    const kx = targetKey(x.target);
    const ky = targetKey(y.target);
    if (kx === undefined || ky === undefined) {
      if ('name' in x.target && 'name' in y.target && x.target.name !== y.target.name) return `${why} (line ${line})`;
      continue;
    }
    if ((forward.get(kx) ?? ky) !== ky || (backward.get(ky) ?? kx) !== kx) return `${why} (line ${line})`;
    forward.set(kx, ky);
    backward.set(ky, kx);
  }
  return undefined;
}

/**
 * Renames the variable or procedure at `position` to `newName`: one edit per occurrence, declaration
 * included. Refused, with the reason, when the position names no variable or procedure, when `newName`
 * is no identifier, a keyword, a reserved word or a builtin, or when it would collide with a name
 * visible where the renamed one is used (so that a name would come to mean something else). Given the
 * text's file name and a host for its includes, the text is checked with them: a name declared in an
 * included file is refused (rename it there), and so is a rename that an included file's uses would miss.
 */
export function rename(
  source: string,
  position: Position,
  newName: string,
  fileName?: string,
  includes?: IncludeHost,
): { edits: TextEdit[] } | { error: string } {
  const index = indexIn(source, fileName, includes);
  const target = renameTarget(index, position);
  if ('error' in target) return target;
  const problem = nameProblem(newName);
  if (problem) return { error: problem };
  if (newName === target.name) return { edits: [] };
  const clash = collision(index, target.occurrence.target, target.name, newName);
  if (clash) return { error: clash };
  const key = targetKey(target.occurrence.target)!;
  const edits = (index.groups.get(key) ?? []).map((o) => ({ range: copyRange(o.range), newText: newName }));
  const changed = verify(index, edits, target.name, newName);
  if (changed) return { error: changed };
  return { edits };
}

// ---- document symbols ---------------------------------------------------------------------------

/** The symbol of a `let`: the statement's range, selecting the name. */
function letSymbol(st: LetStmt): DocumentSymbol {
  return { name: st.name.name, kind: 'variable', range: copyRange(st.range), selectionRange: copyRange(st.name.range) };
}

/** The variables declared anywhere inside `statements` (lets and for variables), in document order. */
function localSymbols(statements: readonly Stmt[]): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  const visit = (list: readonly Stmt[]): void => {
    for (const st of list) {
      switch (st.kind) {
        case 'let':
          out.push(letSymbol(st));
          break;
        case 'for':
        case 'for-each':
          out.push({
            name: st.variable.name,
            kind: 'variable',
            detail: 'loop variable',
            range: copyRange(st.head),
            selectionRange: copyRange(st.variable.range),
          });
          visit(st.body.statements);
          break;
        case 'repeat':
        case 'while':
        case 'expect-report':
        case 'on-cpu':
        case 'on-context':
          visit(st.body.statements);
          break;
        case 'if':
          for (let branch: IfStmt | undefined = st; branch;) {
            visit(branch.then.statements);
            const otherwise: Block | IfStmt | undefined = branch.otherwise;
            if (otherwise && 'kind' in otherwise) {
              branch = otherwise;
            } else {
              if (otherwise) visit(otherwise.statements);
              branch = undefined;
            }
          }
          break;
        default:
          break;
      }
    }
  };
  visit(statements);
  return out;
}

/** The source text of a range on one line (an entry's value, a CPU number), for symbol names and details. */
function textOf(index: Parsed, r: Range): string {
  const start = index.lineStarts[r.start.line]! + r.start.character;
  const end = index.lineStarts[r.end.line]! + r.end.character;
  return index.source.slice(start, end).replace(/\s+/g, ' ');
}

/**
 * The outline: the machine block (its entries as children), procedures (their parameters and every
 * variable declared in their body as children), `expect KIND`, `on cpu N`, `on irq` and `on softirq`
 * blocks at the top level (the variables declared inside as children), and the top-level variables.
 */
export function documentSymbols(source: string): DocumentSymbol[] {
  const index = parsedOf(source);
  const out: DocumentSymbol[] = [];
  for (const st of index.parse.script.statements) {
    switch (st.kind) {
      case 'machine':
        out.push({
          name: 'machine',
          kind: 'machine',
          range: copyRange(st.range),
          selectionRange: copyRange(st.keyword),
          children: st.entries.map((e) => ({
            name: e.name.name,
            kind: 'property',
            detail: textOf(index, e.value.range),
            range: copyRange(e.range),
            selectionRange: copyRange(e.name.range),
          })),
        });
        break;
      case 'proc':
        out.push({
          name: st.name.name,
          kind: 'procedure',
          detail: `(${st.params.map((p) => p.name).join(', ')})`,
          range: copyRange(st.range),
          selectionRange: copyRange(st.name.range),
          children: [
            ...st.params.map((p): DocumentSymbol => ({
              name: p.name,
              kind: 'variable',
              detail: 'parameter',
              range: copyRange(p.range),
              selectionRange: copyRange(p.range),
            })),
            ...localSymbols(st.body.statements),
          ],
        });
        break;
      case 'let':
        out.push(letSymbol(st));
        break;
      case 'expect-report':
      case 'on-cpu':
      case 'on-context': {
        const name =
          st.kind === 'expect-report'
            ? `expect ${st.report.name}`
            : st.kind === 'on-cpu'
              ? `on cpu ${textOf(index, st.cpu.range)}`
              : `on ${st.context}`;
        out.push({
          name,
          kind: 'block',
          range: copyRange(st.range),
          selectionRange: copyRange(st.head),
          children: localSymbols(st.body.statements),
        });
        break;
      }
      default:
        break;
    }
  }
  return out;
}

// ---- folding ------------------------------------------------------------------------------------

const REGION_START = /^#\s*region\b/;
const REGION_END = /^#\s*endregion\b/;

/**
 * Foldable ranges: every `{ ... }` over more than one line (machine, procedures, loops, if/else chains,
 * expect and on blocks; when the `}` starts its line, that line stays visible, so `} else {` does),
 * runs of two or more whole-line `#` comments, and `# region` ... `# endregion` pairs. Sorted by line.
 */
export function foldingRanges(source: string): FoldingRange[] {
  const index = parsedOf(source);
  const { tokens } = index;
  const out: FoldingRange[] = [];
  const open: Token[] = [];
  tokens.forEach((t, i) => {
    if (t.kind === TokenKind.LBrace) {
      open.push(t);
    } else if (t.kind === TokenKind.RBrace) {
      const start = open.pop();
      if (!start) return;
      const firstOnLine = i === 0 || tokens[i - 1]!.kind === TokenKind.Newline;
      const endLine = firstOnLine ? t.range.start.line - 1 : t.range.start.line;
      if (endLine > start.range.start.line) out.push({ startLine: start.range.start.line, endLine });
    }
  });
  const regions: number[] = [];
  let run: { start: number; end: number } | undefined;
  const closeRun = (): void => {
    if (run && run.end > run.start) out.push({ startLine: run.start, endLine: run.end, kind: 'comment' });
    run = undefined;
  };
  for (const c of index.comments) {
    if (!c.wholeLine) continue;
    if (REGION_START.test(c.text)) {
      closeRun();
      regions.push(c.line);
      continue;
    }
    if (REGION_END.test(c.text)) {
      closeRun();
      const start = regions.pop();
      if (start !== undefined && c.line > start) out.push({ startLine: start, endLine: c.line, kind: 'region' });
      continue;
    }
    if (run && c.line === run.end + 1) {
      run.end = c.line;
    } else {
      closeRun();
      run = { start: c.line, end: c.line };
    }
  }
  closeRun();
  return out.sort((a, b) => a.startLine - b.startLine || b.endLine - a.endLine);
}

// ---- semantic tokens ----------------------------------------------------------------------------

const OPERATORS: ReadonlySet<TokenKind> = new Set([
  TokenKind.Assign,
  TokenKind.DotDot,
  TokenKind.Plus,
  TokenKind.Minus,
  TokenKind.Star,
  TokenKind.Slash,
  TokenKind.Percent,
  TokenKind.Shl,
  TokenKind.Shr,
  TokenKind.Amp,
  TokenKind.Caret,
  TokenKind.Pipe,
  TokenKind.Tilde,
  TokenKind.Bang,
  TokenKind.AmpAmp,
  TokenKind.PipePipe,
  TokenKind.EqEq,
  TokenKind.NotEq,
  TokenKind.Lt,
  TokenKind.LtEq,
  TokenKind.Gt,
  TokenKind.GtEq,
]);

type Classification = { type: SemanticTokenType; modifiers: SemanticTokenModifier[] } | undefined;

function builtinClass(name: string): Classification {
  if (BUILTIN_FUNCTIONS.has(name)) return { type: 'function', modifiers: ['defaultLibrary'] };
  if (BUILTIN_CONSTANTS.has(name)) return { type: 'macro', modifiers: ['readonly', 'defaultLibrary'] };
  return undefined;
}

function classify(index: Index, t: Token): Classification {
  switch (t.kind) {
    case TokenKind.Keyword:
      return { type: 'keyword', modifiers: [] };
    case TokenKind.Number:
      return { type: 'number', modifiers: [] };
    case TokenKind.String:
      return { type: 'string', modifiers: [] };
    case TokenKind.Identifier:
      break;
    default:
      return OPERATORS.has(t.kind) ? { type: 'operator', modifiers: [] } : undefined;
  }
  const o = index.byStart.get(t.start);
  if (!o) return builtinClass(t.text);
  const declaration: SemanticTokenModifier[] = o.declaration ? ['declaration'] : [];
  const target = o.target;
  switch (target.kind) {
    case 'variable': {
      const modifiers = target.info.loopVariable ? [...declaration, 'readonly' as const] : declaration;
      return { type: index.params.has(target.info) ? 'parameter' : 'variable', modifiers };
    }
    case 'procedure':
      return { type: 'function', modifiers: declaration };
    case 'builtin':
      return builtinClass(target.name);
    case 'entry':
      return { type: 'property', modifiers: [] };
    case 'word':
      return { type: 'enumMember', modifiers: ['readonly'] };
    case 'unresolved':
      return { type: target.call ? 'function' : 'variable', modifiers: declaration };
  }
}

/**
 * Every classified token in document order: keywords, numbers (4K, 0x10 included), strings, comments,
 * operators; procedures are `function` (+ declaration at their `proc`), builtin functions `function` +
 * defaultLibrary, builtin constants (GFP_KERNEL, SLAB_*, PROT_*) `macro` + readonly defaultLibrary,
 * variables and parameters `variable` / `parameter` (+ declaration where declared, + readonly for loop
 * variables), machine entries `property`, their word values (y, sv39) and expect report kinds `enumMember`.
 */
export function semanticTokens(source: string): SemanticToken[] {
  const index = indexOf(source);
  const out: SemanticToken[] = [];
  const comments = index.comments;
  let c = 0;
  const flushComments = (before: Position | undefined): void => {
    while (c < comments.length) {
      const k = comments[c]!;
      if (before && comparePositions({ line: k.line, character: k.character }, before) > 0) break;
      out.push({ line: k.line, character: k.character, length: k.length, type: 'comment', modifiers: [] });
      c++;
    }
  };
  for (const t of index.tokens) {
    const cls = classify(index, t);
    if (!cls) continue;
    flushComments(t.range.start);
    out.push({
      line: t.range.start.line,
      character: t.range.start.character,
      length: t.range.end.character - t.range.start.character,
      type: cls.type,
      modifiers: cls.modifiers,
    });
  }
  flushComments(undefined);
  return out;
}

/**
 * The relative integer encoding of semantic tokens (as LSP transmits them): five numbers per token,
 * deltaLine, deltaStart (from the previous token's start when on the same line), length, the type's
 * index in SEMANTIC_TOKEN_TYPES and the modifier bits (bit i for SEMANTIC_TOKEN_MODIFIERS[i]).
 * Tokens are sorted into document order first.
 */
export function encodeSemanticTokens(tokens: readonly SemanticToken[]): number[] {
  const types = new Map<string, number>(SEMANTIC_TOKEN_TYPES.map((t, i) => [t, i]));
  const modifiers = new Map<string, number>(SEMANTIC_TOKEN_MODIFIERS.map((m, i) => [m, 1 << i]));
  const sorted = [...tokens].sort((a, b) => a.line - b.line || a.character - b.character);
  const out: number[] = [];
  let line = 0;
  let character = 0;
  for (const t of sorted) {
    const type = types.get(t.type);
    if (type === undefined) continue;
    const bits = t.modifiers.reduce((acc, m) => acc | (modifiers.get(m) ?? 0), 0);
    const deltaLine = t.line - line;
    out.push(deltaLine, deltaLine === 0 ? t.character - character : t.character, t.length, type, bits);
    line = t.line;
    character = t.character;
  }
  return out;
}
