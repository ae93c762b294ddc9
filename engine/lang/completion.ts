/*
 * Completions, hovers and signature help: what an editor asks about the text around the cursor, as plain
 * functions over a scenario's source (the LSP server only converts their results to protocol types).
 *
 * Invariants:
 *   - Nothing here throws, on any text and any position: positions are clamped into the document (a line
 *     past the end is the end of the text, a character past the end of its line is the end of that line).
 *   - Completions and signature help analyse the text up to the end of the cursor's line (analyze() of
 *     service.ts): what the cursor can see, variables declared and procedures defined before it, is all in
 *     that prefix. Hovers analyse the whole text (whether a procedure returns a value is decided by its end).
 *   - A few analyses are kept between requests. When the text still reads as a kept one up to a line at the
 *     top level (no brace open), only the lines after it are analysed again, and the declarations above come
 *     from the kept analysis: a keystroke in a long file costs about its top-level statement. Results never
 *     depend on what is kept (the tests compare both paths); resetLanguageServiceCache() forgets it all.
 *   - The context comes from the token stream, not the syntax tree, so text being typed (an open call, a
 *     block without its "}") still gives the right one. Scopes are the braces open at the cursor: a `let`
 *     variable is visible in the block of its declaration once its statement has ended, a `for` variable
 *     and a procedure's parameters in the body's braces; braces never closed run to the cursor.
 *   - Snippet texts (insertText) use the editor's snippet syntax: ${1:size} placeholders, $0 the final stop.
 */

import { Analysis, analyze } from './service';
import { BUILTIN_CONSTANTS, BUILTIN_FUNCTIONS, BuiltinFunction, REPORT_KINDS, constantFamily } from './builtins';
import { ProcInfo, VarInfo } from './checker';
import { Position, Range } from './diagnostics';
import { lex } from './lexer';
import { MACHINE_ENTRIES } from './parser';
import { FUTURE_VALUE_WORDS, STATEMENT_KEYWORDS, Token, TokenKind } from './tokens';
import { ARCH_NAMES } from '../mm/arch';
import { GFP_NAMES } from '../mm/gfp';
import { Value } from '../vm/values';

// ---- public types ---------------------------------------------------------------------------------

export type CompletionKind =
  'keyword' | 'function' | 'constant' | 'variable' | 'procedure' | 'machine-entry' | 'report-kind' | 'snippet';

/** One completion proposal. `insertText`, when present, is in snippet syntax; else the label is inserted. */
export interface CompletionItem {
  readonly label: string;
  readonly kind: CompletionKind;
  readonly detail?: string;
  readonly documentation?: string;
  readonly insertText?: string;
  /** Orders the proposals (smaller first); the editor still filters them by what is typed. */
  readonly sortText?: string;
}

/** A hover: markdown text about the token under the cursor, and that token's range. */
export interface Hover {
  readonly contents: string;
  readonly range: Range;
}

/** The call around the cursor: its signature, its parameters and the one being typed. */
export interface SignatureHelp {
  readonly label: string;
  readonly parameters: string[];
  readonly activeParameter: number;
  readonly documentation?: string;
}

// ---- what the language's words mean --------------------------------------------------------------
//
// These tables are the one source of what hovers and completion items say and of the matching tables of
// docs/language.md, which scripts/gen-docs.mjs writes from them (`npm run docs`): a new keyword, machine
// entry or report kind is one entry here, and the docs follow.

/** One line about each keyword, with an example: hovers, completion items, and the docs' table of reserved words. */
const KEYWORD_DOCS: Readonly<Record<string, string>> = {
  let: 'Declares a variable in the current scope with its first value: `let p = kmalloc(64, GFP_KERNEL)`.',
  repeat: 'A counted loop: `repeat N { ... }` runs its body N times (N is evaluated once).',
  for: 'A ranged loop, `for i in 0..8 { ... }` (i = 0..7, half-open), or one over a list, `for p in pool { ... }`; the variable cannot be assigned.',
  in: 'What a `for` loop runs over: a range `FROM..TO` (FROM included, TO excluded) or a list.',
  if: 'Runs its block when the condition is not 0; `} else if cond {` and `} else {` follow on the line of the `}`.',
  else: "The branch of an `if` taken when no condition was true; it must follow the if's `}` on the same line.",
  while: 'A loop that runs while its condition is not 0, tested before every round.',
  proc: 'Defines a procedure at the top level: `proc name(a, b) { ... }`, callable after its definition.',
  return: 'Leaves the procedure, with a value (`return expr`) or none (`return`).',
  expect:
    '`expect cond` stops the scenario (KM5001) when cond is 0; ' +
    '`expect KIND { ... }` requires a detector report of that kind (KM5002).',
  on: 'Runs a block on a CPU (`on cpu N { ... }`) or in interrupt context (`on irq { ... }`, `on softirq { ... }`).',
  print: "Writes its items (string literals and values, separated by commas) to the scenario's output.",
  log: 'Writes its items to the kernel log, as pr_info() from kernel code would.',
  machine: 'The machine to boot: `machine { memory 256M; cpus 2 }`, the first statement of the file.',
  cpu: "`on cpu N { ... }`: the block runs on CPU N (one of the machine's CPUs, KM4109 otherwise).",
  irq: '`on irq { ... }`: the block runs as a hardirq handler (HARDIRQ count, interrupts off); nothing may sleep.',
  softirq: '`on softirq { ... }`: the block runs as a softirq (SOFTIRQ count); allocations must not sleep.',
  push: 'Appends a value to a list: `push pool, kmalloc(64, GFP_KERNEL)`.',
  pop: "Removes a list's last item and gives it: `kfree(pop pool)` (KM4129 on an empty list).",
  include:
    'Runs another scenario file\'s statements here, at the top level: `include "lib/pools.kmem"` (relative to this file, inside the workspace; once per run).',
};

/** What a reserved word means, as its hover and the docs say it: KEYWORD_DOCS, or what it is reserved for. */
export function keywordDoc(word: string): string {
  return (
    KEYWORD_DOCS[word] ??
    (FUTURE_VALUE_WORDS.has(word)
      ? 'Reserved for a future truth value (KM2005): write 1 or 0.'
      : 'Reserved for a future statement (KM2005): it cannot name a variable.')
  );
}

/** Snippets of the statement keywords. */
const KEYWORD_SNIPPETS: Readonly<Record<string, string>> = {
  let: 'let ${1:name} = $0',
  if: 'if ${1:cond} {\n\t$0\n}',
  while: 'while ${1:cond} {\n\t$0\n}',
  repeat: 'repeat ${1:10} {\n\t$0\n}',
  for: 'for ${1:i} in ${2:0}..${3:8} {\n\t$0\n}',
  proc: 'proc ${1:name}(${2:params}) {\n\t$0\n}',
  return: 'return $0',
  expect: 'expect $0',
  on: 'on ${1|cpu 1,irq,softirq|} {\n\t$0\n}',
  print: 'print $0',
  log: 'log "${1:message}"$0',
  machine: 'machine { memory ${1:256M}; cpus ${2:2} }',
  push: 'push ${1:pool}, $0',
  include: 'include "${1:lib.kmem}"$0',
};

/** What a machine entry takes and sets: its hover, its completion items and its row of the docs' table. */
export interface MachineEntryDoc {
  /** What the entry takes, as the docs write it after its name. */
  readonly values: string;
  /** What it sets (markdown, one paragraph). */
  readonly meaning: string;
  /** The values it accepts when `values` does not list them (markdown), else "". */
  readonly range: string;
  /** What the machine has when neither the block nor the host sets it (markdown). */
  readonly default: string;
  readonly snippet: string;
  /** Values to propose after the entry's name. */
  readonly choices: readonly string[];
}

const YES_NO = ['y', 'n'] as const;

/** The machine block's entries (MACHINE_ENTRIES). */
export const MACHINE_ENTRY_DOCS: Readonly<Record<string, MachineEntryDoc>> = {
  memory: {
    values: 'SIZE',
    meaning: 'Bytes of physical memory, a whole number of 4K pages.',
    range: '16M .. 64G',
    default: '256M',
    snippet: 'memory ${1:256M}',
    choices: ['256M', '512M', '1G', '4G', '64M'],
  },
  cpus: {
    values: 'N',
    meaning: 'Present CPUs (SLUB sizes its slabs by this count).',
    range: '1 .. 256',
    default: '2',
    snippet: 'cpus ${1:2}',
    choices: ['1', '2', '4', '8'],
  },
  arch: {
    values: ARCH_NAMES.join(' | '),
    meaning:
      'Architecture and paging mode: `x86_64` (4-level), `x86_64-la57` (5-level), `sv39`, `sv48` (RISC-V 64, ' +
      'RAM from 0x80000000, no DMA zone).',
    range: '',
    default: '`x86_64`',
    snippet: `arch \${1|${ARCH_NAMES.join(',')}|}`,
    choices: ARCH_NAMES,
  },
  slab_freelist_hardened: {
    values: 'y | n',
    meaning:
      'CONFIG_SLAB_FREELIST_HARDENED: SLUB stores free pointers as `ptr ^ s->random ^ swab(ptr_addr)`; `n` ' +
      'stores the plain pointer.',
    range: '',
    default: '`y`',
    snippet: 'slab_freelist_hardened ${1|y,n|}',
    choices: YES_NO,
  },
  slab_debug: {
    values: '"FLAGS"',
    meaning:
      'The `slab_debug=` boot option\'s value (alias `slub_debug=`): `"FZPU"` for every cache, ' +
      '`"FZ,kmalloc-64,skb*"` for some, `;` between blocks, `-` for none; letters F (consistency checks), ' +
      'Z (red zones), P (poison), U (user tracking), T (trace). An unknown letter is KM2008 (the kernel would ' +
      'skip it with a message). See [SLUB debugging](#slub-debugging).',
    range: '',
    default: 'none',
    snippet: 'slab_debug "${1:FZPU}"',
    choices: ['"FZPU"', '"FZ"', '"-"'],
  },
  kasan: {
    values: 'y | n',
    meaning:
      "CONFIG_KASAN=y, generic mode: every cache gets KASAN's metadata and redzone (`kasan_cache_create()`), " +
      "frees go through the quarantine, and the scenario's loads, stores, `memset` and `memcpy` are checked " +
      'against the shadow. See [KASAN](#kasan).',
    range: '',
    default: '`n`',
    snippet: 'kasan ${1|y,n|}',
    choices: YES_NO,
  },
  kasan_multi_shot: {
    values: 'y | n',
    meaning:
      'The `kasan_multi_shot` boot option: print every KASAN report (without it only the first prints; every ' +
      'report is still an event).',
    range: '',
    default: '`n`',
    snippet: 'kasan_multi_shot ${1|y,n|}',
    choices: YES_NO,
  },
  kmemleak: {
    values: 'y | n',
    meaning:
      'CONFIG_DEBUG_KMEMLEAK=y: slab objects, large kmallocs and vmalloc areas are tracked; `kmemleak_scan()` ' +
      'scans, and a run ends with two scans. See [kmemleak](#kmemleak).',
    range: '',
    default: '`n`',
    snippet: 'kmemleak ${1|y,n|}',
    choices: YES_NO,
  },
  seed: {
    values: 'N',
    meaning:
      "The seed of the machine's random numbers: `rand()` and KFENCE's placement; a run is a function of the " +
      'scenario and the seed (`kmem run --seed`).',
    range: '0 .. 4294967295',
    default: '1',
    snippet: 'seed ${1:42}',
    choices: ['1', '42'],
  },
  kfence: {
    values: 'MS',
    meaning:
      "CONFIG_KFENCE with `kfence.sample_interval=MS`: one allocation per MS milliseconds of the machine's " +
      'clock comes from the guarded pool; 0 is off. See [KFENCE](#kfence).',
    range: '0 .. 86400000',
    default: 'off',
    snippet: 'kfence ${1:100}',
    choices: ['100', '0'],
  },
};

function machineEntryDoc(name: string): MachineEntryDoc {
  return (
    MACHINE_ENTRY_DOCS[name] ?? {
      values: 'VALUE',
      meaning: 'A machine entry.',
      range: '',
      default: 'none',
      snippet: name,
      choices: [],
    }
  );
}

/** A machine entry's meaning, then its range and default: what its hover and completion items say. */
function machineEntryText(doc: MachineEntryDoc): string {
  const range = doc.range ? `Range ${doc.range}, default` : 'Default';
  return `${doc.meaning}\n\n${range} ${doc.default}.`;
}

/** What an `expect KIND { ... }` block expects, by report kind (REPORT_KINDS). */
const REPORT_KIND_DOCS: Readonly<Record<string, string>> = {
  slub_debug:
    'a SLUB debugging report (`slab_debug` or a debug cache): a red zone or poison overwritten, an object ' +
    'already free, a corrupt free pointer',
  kasan: 'a KASAN report (`machine { kasan y }`): slab-out-of-bounds, slab-use-after-free, double-free, invalid-free',
  kmemleak:
    'a kmemleak report (`machine { kmemleak y }`): an unreferenced object found by `kmemleak_scan()` in the block',
  kfence: 'a KFENCE report (`machine { kfence MS }`): out-of-bounds, use-after-free, invalid free or memory corruption',
  might_sleep:
    'a might_sleep report: "BUG: sleeping function called from invalid context" or "scheduling while atomic"',
};

/** What a block expecting a report of this kind must make: its hover, its completion item, the docs' table. */
export function reportKindDoc(kind: string): string {
  return REPORT_KIND_DOCS[kind] ?? `a ${kind} report`;
}

/** Constants proposed first for an argument, by the parameter's name (and, for `order`, the function's). */
function preferredConstants(fn: string, param: string): RegExp | undefined {
  switch (param) {
    case 'gfp':
      return /^(GFP_|__GFP_)/;
    case 'flags':
      return /^SLAB_/;
    case 'prot':
    case 'access':
      return /^PROT_/;
    case 'kind':
    case 'policy':
      return /^HEAP_/;
    case 'order':
      return fn === 'freelist_heap' ? /^LIST_/ : undefined;
    default:
      return undefined;
  }
}

// ---- positions ------------------------------------------------------------------------------------

const isIdentPart = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || (c >= 48 && c <= 57);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** A position in the text: its offset and the bounds of its line (line breaks excluded). */
interface Place {
  readonly offset: number;
  readonly lineStart: number;
  readonly lineEnd: number;
}

function lineEndFrom(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return text.length;
}

function toNumber(x: unknown): number {
  const n = typeof x === 'number' ? x : Number(x);
  return Number.isNaN(n) || n < 0 ? 0 : Math.floor(n);
}

/** The offset of a position, clamped into the text (a line past the end is the end of the text). */
function place(text: string, position: Position | undefined): Place {
  const line = toNumber(position?.line);
  const character = toNumber(position?.character);
  let start = 0;
  for (let l = 0; l < line; l++) {
    const end = lineEndFrom(text, start);
    if (end >= text.length) {
      return { offset: text.length, lineStart: start, lineEnd: text.length };
    }
    start = end + (text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10 ? 2 : 1);
  }
  const lineEnd = lineEndFrom(text, start);
  return { offset: Math.min(start + character, lineEnd), lineStart: start, lineEnd };
}

/** Whether the offset is in a string literal or a comment of its line (the lexer's rules: both end there). */
function lexicalState(text: string, lineStart: number, offset: number): 'code' | 'string' | 'comment' {
  let inString = false;
  for (let i = lineStart; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 35) {
      return 'comment';
    }
  }
  return inString ? 'string' : 'code';
}

// ---- analyses and views ---------------------------------------------------------------------------

/** Where a variable is visible: after its `let` statement in the enclosing braces, or in a body's braces. */
type VarScope =
  | { readonly info: VarInfo; readonly decl: number; readonly kind: 'let'; readonly end: number }
  | { readonly info: VarInfo; readonly decl: number; readonly kind: 'body'; readonly open: number };

/** analyze() of a text, with what the functions below need (computed when first asked for). */
interface Prepared {
  readonly text: string;
  readonly analysis: Analysis;
  readonly tokens: readonly Token[];
  readonly lineStarts: readonly number[];
  scopes?: VarScope[];
  /** Variables by the position ("line:character") of each name that refers to them. */
  names?: Map<string, VarInfo>;
  /** Offsets where a line starts at the top level (no brace or parenthesis open before it), in order. */
  topLines?: number[];
}

function prepare(text: string, fileName: string): Prepared {
  const analysis = analyze(text, fileName);
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
    if (c === 10 || c === 13) lineStarts.push(i + 1);
  }
  return { text, analysis, tokens: analysis.parse.tokens, lineStarts };
}

function offsetOf(prep: Prepared, p: Position): number {
  const start = prep.lineStarts[Math.min(Math.max(p.line, 0), prep.lineStarts.length - 1)] ?? 0;
  return Math.min(start + p.character, prep.text.length);
}

function variableScopes(prep: Prepared): VarScope[] {
  if (prep.scopes) return prep.scopes;
  const scopes: VarScope[] = [];
  for (const [binding, info] of prep.analysis.check.bindings) {
    if (binding.kind === 'let') {
      const decl = offsetOf(prep, info.declaration.start);
      scopes.push({ info, decl, kind: 'let', end: offsetOf(prep, binding.range.end) });
    } else if (binding.kind === 'for') {
      const decl = offsetOf(prep, info.declaration.start);
      scopes.push({ info, decl, kind: 'body', open: offsetOf(prep, binding.body.range.start) });
    }
  }
  for (const proc of prep.analysis.check.procs) {
    const open = offsetOf(prep, proc.definition.body.range.start);
    for (const info of proc.paramInfos) {
      scopes.push({ info, decl: offsetOf(prep, info.declaration.start), kind: 'body', open });
    }
  }
  scopes.sort((a, b) => a.decl - b.decl || a.info.order - b.info.order);
  prep.scopes = scopes;
  return scopes;
}

function namesIndex(prep: Prepared): Map<string, VarInfo> {
  if (prep.names) return prep.names;
  const names = new Map<string, VarInfo>();
  const key = (r: Range): string => `${r.start.line}:${r.start.character}`;
  for (const [binding, info] of prep.analysis.check.bindings) {
    switch (binding.kind) {
      case 'name':
        names.set(key(binding.range), info);
        break;
      case 'let':
        names.set(key(binding.name.range), info);
        break;
      case 'assign':
        names.set(key(binding.target.range), info);
        break;
      case 'for':
        names.set(key(binding.variable.range), info);
        break;
    }
  }
  for (const proc of prep.analysis.check.procs) {
    for (const info of proc.paramInfos) names.set(key(info.declaration), info);
  }
  prep.names = names;
  return names;
}

function topLines(prep: Prepared): number[] {
  if (!prep.topLines) prep.topLines = scan(prep.tokens, prep.tokens.length - 1).topLines;
  return prep.topLines;
}

/** A procedure a request can call, and where its text is (offsets in the view; -1 before the view). */
interface ProcRef {
  readonly proc: ProcInfo;
  /** Added to the procedure's line numbers to give the document's. */
  readonly lineBase: number;
  readonly nameEnd: number;
  readonly bodyOpen: number;
}

/** A variable a request can see: its analysis and the line its text starts at in the document. */
interface VarRef {
  readonly info: VarInfo;
  readonly owner: Prepared;
  readonly lineBase: number;
}

/**
 * What a request works on: an analysis of the document from `start` (the start of a line at the top level)
 * to the end of the cursor's line, and what the text before `start` declared, from an earlier analysis of
 * the document that had the same text up to there. Offsets in a view are relative to `start`.
 */
interface View {
  readonly start: number;
  readonly startLine: number;
  readonly prep: Prepared;
  /** Top-level variables declared before `start`. */
  readonly globals: readonly VarRef[];
  /** Procedures defined before `start`, then those of `prep` (without the ones the whole text would reject). */
  readonly procs: readonly ProcRef[];
  /** Variables of `prep` the checker of the whole text would not declare (their name is taken before). */
  readonly rejected: ReadonlySet<VarInfo>;
  /** A statement comes before `start`. */
  readonly sawStatement: boolean;
}

/** Analyses of documents from their start (a prefix to the end of a line, or the whole text), last first. */
const documents: Prepared[] = [];
/** Analyses of the text after a top-level line of one of `documents`, last first. */
const tails: Prepared[] = [];
const DOCUMENTS_KEPT = 2;
const TAILS_KEPT = 2;

function cached(list: Prepared[], text: string, fileName: string, keep: number): Prepared {
  const hit = list.findIndex((p) => p.text === text);
  const found = hit >= 0 ? list.splice(hit, 1)[0]! : prepare(text, fileName);
  list.unshift(found);
  list.length = Math.min(list.length, keep);
  return found;
}

/**
 * Forgets the analyses kept between requests (each request then analyses its text afresh). Results never
 * depend on them; tests and benchmarks call this to measure or compare the cold path.
 */
export function resetLanguageServiceCache(): void {
  documents.length = 0;
  tails.length = 0;
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The last element of a sorted list below `limit`, or -1. */
function lastBelow(sorted: readonly number[], limit: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? sorted[lo - 1]! : -1;
}

/** The line that starts at or before `offset`. */
function lineIndex(lineStarts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lineStarts[mid]! <= offset) lo = mid + 1;
    else hi = mid;
  }
  return Math.max(lo - 1, 0);
}

function wholeView(prep: Prepared): View {
  const procs = prep.analysis.check.procs.map((proc) => ({
    proc,
    lineBase: 0,
    nameEnd: offsetOf(prep, proc.definition.name.range.end),
    bodyOpen: offsetOf(prep, proc.definition.body.range.start),
  }));
  return { start: 0, startLine: 0, prep, globals: [], procs, rejected: new Set(), sawStatement: false };
}

/** Text after the reused part above which the whole prefix is analysed again (and kept for the next requests). */
const TAIL_LIMIT = 32_768;

/**
 * The view for `text`, a prefix of a document: an analysis of the same text if one is kept; else the text
 * after the last top-level line a kept analysis shares, analysed alone; else the whole prefix analysed.
 */
function viewOf(text: string, fileName: string): View {
  const exact = documents.find((p) => p.text === text);
  if (exact) return wholeView(cached(documents, text, fileName, DOCUMENTS_KEPT));
  let base: Prepared | undefined;
  let start = -1;
  for (const doc of documents) {
    // A top-level line whose text and line break are shared, as every line above it: the tokens, the parse
    // and the declarations up to it are the same in both texts (deciding that a line starts at the top level
    // looks at its first tokens).
    const common = commonPrefix(doc.text, text);
    let cut = common;
    while (cut > 0 && text.charCodeAt(cut - 1) !== 10 && text.charCodeAt(cut - 1) !== 13) cut--;
    const line = lastBelow(topLines(doc), cut);
    if (line > start) {
      base = doc;
      start = line;
    }
  }
  if (!base || start <= 0 || text.length - start > TAIL_LIMIT) {
    return wholeView(cached(documents, text, fileName, DOCUMENTS_KEPT));
  }
  const prep = cached(tails, text.slice(start), fileName, TAILS_KEPT);
  const startLine = lineIndex(base.lineStarts, start);
  const globals: VarRef[] = [];
  const globalNames = new Set<string>();
  for (const v of variableScopes(base)) {
    if (v.decl >= start) break;
    if (v.kind === 'let' && v.info.proc === -1 && v.info.depth === 0) {
      globals.push({ info: v.info, owner: base, lineBase: 0 });
      globalNames.add(v.info.name);
    }
  }
  const procs: ProcRef[] = [];
  const procNames = new Set<string>();
  for (const proc of base.analysis.check.procs) {
    if (offsetOf(base, proc.definition.name.range.end) > start) break;
    procs.push({ proc, lineBase: 0, nameEnd: -1, bodyOpen: -1 });
    procNames.add(proc.name);
  }
  // What the checker of the whole text would reject: names taken before the view (KM2002).
  const rejected = new Set<VarInfo>();
  const tailProcs = prep.analysis.check.procs;
  tailProcs.forEach((proc, index) => {
    if (procNames.has(proc.name) || globalNames.has(proc.name)) {
      for (const v of prep.analysis.check.variables) if (v.proc === index) rejected.add(v);
      return;
    }
    procs.push({
      proc,
      lineBase: startLine,
      nameEnd: offsetOf(prep, proc.definition.name.range.end),
      bodyOpen: offsetOf(prep, proc.definition.body.range.start),
    });
  });
  for (const v of prep.analysis.check.variables) {
    if (procNames.has(v.name) || (v.proc === -1 && v.depth === 0 && globalNames.has(v.name))) rejected.add(v);
  }
  const first = base.tokens.find((t) => t.kind !== TokenKind.Newline && t.kind !== TokenKind.Semicolon);
  const sawStatement = first !== undefined && first.kind !== TokenKind.Eof && first.start < start;
  return { start, startLine, prep, globals, procs, rejected, sawStatement };
}

/** The number of tokens that end at or before `offset` (the Eof token never counts). */
function tokensBefore(tokens: readonly Token[], offset: number): number {
  let lo = 0;
  let hi = tokens.length - 1; // the Eof token is last
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.end <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of the token that starts at `offset`, or -1. */
function tokenStartingAt(tokens: readonly Token[], offset: number): number {
  let lo = 0;
  let hi = tokens.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.start < offset) lo = mid + 1;
    else hi = mid;
  }
  return tokens[lo]?.start === offset ? lo : -1;
}

// ---- the context of a token: one pass over the tokens before it -----------------------------------

type BraceKind = 'machine' | 'proc' | 'expect' | 'on' | 'if' | 'else' | 'block';

interface Brace {
  /** The index of the "{" token. */
  readonly open: number;
  readonly kind: BraceKind;
}

interface Paren {
  readonly open: number;
  /** call: `name(`; params: the parameter list of `proc name(`; group: `(expr)`. */
  readonly kind: 'call' | 'params' | 'group';
  readonly callee: string;
  commas: number;
}

interface Scan {
  readonly braces: Brace[];
  readonly parens: Paren[];
  /** The brace enclosing each token scanned (the index of its "{"), -1 at the top level. */
  readonly parent: Int32Array;
  /** Offsets of the newlines and ";" that ended statements, in order. */
  readonly boundaries: number[];
  /** Offsets of the lines that start at the top level (after a line break that ended a statement there). */
  readonly topLines: number[];
  /** The index of the first token of the statement being read. */
  readonly stmtStart: number;
  /** Some token other than a line break or ";" came before. */
  readonly sawStatement: boolean;
  /** The kind of the block the last "}" closed. */
  readonly lastClosed: BraceKind | undefined;
}

/**
 * Whether token j starts a statement that ends what is open before it, as the parser decides: a keyword
 * (in the machine block one of today's statements), or a name followed by "=" (in the machine block also a
 * name followed by "(" that is no entry). A name followed by "(" inside parentheses is an argument.
 */
function startsStatement(tokens: readonly Token[], j: number, inMachine: boolean): boolean {
  const t = tokens[j];
  if (!t) return false;
  if (t.kind === TokenKind.Keyword) {
    return inMachine
      ? STATEMENT_KEYWORDS.includes(t.text)
      : t.text !== 'in' && t.text !== 'else' && !FUTURE_VALUE_WORDS.has(t.text);
  }
  if (t.kind !== TokenKind.Identifier) return false;
  const next = tokens[j + 1]?.kind;
  if (inMachine) {
    return !MACHINE_ENTRIES.includes(t.text) && (next === TokenKind.Assign || next === TokenKind.LParen);
  }
  return next === TokenKind.Assign;
}

const OPERAND_ENDS: ReadonlySet<TokenKind> = new Set([
  TokenKind.Identifier,
  TokenKind.Number,
  TokenKind.String,
  TokenKind.RParen,
]);

/**
 * Whether an expression in open parentheses goes on after the line break at i: not when the next line reads
 * as a statement, nor when it starts with a call right after an operand (`kmalloc(64, GFP_KERNEL` and then
 * `kfree(p)`), which the parser's recovery also takes for the next statement.
 */
function expressionGoesOn(tokens: readonly Token[], i: number): boolean {
  if (startsStatement(tokens, i + 1, false)) return false;
  const prev = tokens[i - 1];
  const next = tokens[i + 1];
  return !(
    prev !== undefined &&
    OPERAND_ENDS.has(prev.kind) &&
    next?.kind === TokenKind.Identifier &&
    tokens[i + 2]?.kind === TokenKind.LParen
  );
}

function braceKind(tokens: readonly Token[], stmtStart: number, open: number): BraceKind {
  if (stmtStart >= open) return 'block';
  const first = tokens[stmtStart]!;
  if (first.kind !== TokenKind.Keyword) return 'block';
  switch (first.text) {
    case 'machine':
    case 'proc':
    case 'expect':
    case 'on':
    case 'if':
      return first.text;
    case 'else': {
      const next = tokens[stmtStart + 1];
      return next?.kind === TokenKind.Keyword && next.text === 'if' ? 'if' : 'else';
    }
    default:
      return 'block';
  }
}

/** Reads tokens[0..end): the braces and parentheses open after them, and where statements ended. */
function scan(tokens: readonly Token[], end: number): Scan {
  const braces: Brace[] = [];
  let parens: Paren[] = [];
  const parent = new Int32Array(Math.max(end, 0));
  const boundaries: number[] = [];
  const topLines: number[] = [];
  let stmtStart = 0;
  let sawStatement = false;
  let lastClosed: BraceKind | undefined;
  for (let i = 0; i < end; i++) {
    const t = tokens[i]!;
    parent[i] = braces.length > 0 ? braces[braces.length - 1]!.open : -1;
    switch (t.kind) {
      case TokenKind.Newline:
      case TokenKind.Semicolon: {
        if (braces[braces.length - 1]?.kind === 'machine' && startsStatement(tokens, i + 1, true)) {
          braces.pop(); // a machine block left open ends where a line reads as a statement
        }
        if (parens.length > 0) {
          if (t.kind === TokenKind.Newline && expressionGoesOn(tokens, i)) break; // the expression goes on
          parens = [];
        }
        boundaries.push(t.start);
        if (braces.length === 0 && t.kind === TokenKind.Newline) topLines.push(t.end);
        stmtStart = i + 1;
        break;
      }
      case TokenKind.LBrace:
        sawStatement = true;
        parens = [];
        braces.push({ open: i, kind: braceKind(tokens, stmtStart, i) });
        stmtStart = i + 1;
        break;
      case TokenKind.RBrace:
        sawStatement = true;
        parens = [];
        lastClosed = braces.pop()?.kind;
        stmtStart = i + 1;
        break;
      case TokenKind.LParen: {
        sawStatement = true;
        const prev = tokens[i - 1];
        const named = prev?.kind === TokenKind.Identifier;
        const before = tokens[i - 2];
        const definition = named && before?.kind === TokenKind.Keyword && before.text === 'proc';
        parens.push({
          open: i,
          kind: !named ? 'group' : definition ? 'params' : 'call',
          callee: named ? prev.text : '',
          commas: 0,
        });
        break;
      }
      case TokenKind.RParen:
        sawStatement = true;
        parens.pop();
        break;
      case TokenKind.Comma:
        sawStatement = true;
        if (parens.length > 0) parens[parens.length - 1]!.commas++;
        break;
      default:
        sawStatement = true;
    }
  }
  return { braces, parens, parent, boundaries, topLines, stmtStart, sawStatement, lastClosed };
}

/** The variables visible at `offset` (the start of the word there), innermost declaration of each name. */
function visibleVariables(view: View, s: Scan, offset: number): VarRef[] {
  const { prep } = view;
  const tokens = prep.tokens;
  const open = new Set<number>();
  for (const b of s.braces) open.add(tokens[b.open]!.start);
  const byName = new Map<string, VarRef>();
  for (const v of view.globals) byName.set(v.info.name, v);
  for (const v of variableScopes(prep)) {
    if (v.decl >= offset) break;
    if (view.rejected.has(v.info)) continue;
    let visible: boolean;
    if (v.kind === 'body') {
      visible = open.has(v.open) && v.open < offset;
    } else {
      const at = tokenStartingAt(tokens, v.decl);
      const p = at >= 0 && at < s.parent.length ? s.parent[at]! : -2;
      visible = (p === -1 || (p >= 0 && open.has(tokens[p]!.start))) && endedBefore(s.boundaries, v.end);
    }
    if (visible) {
      byName.delete(v.info.name); // keep the map in declaration order, the innermost last
      byName.set(v.info.name, { info: v.info, owner: prep, lineBase: view.startLine });
    }
  }
  return [...byName.values()];
}

/** Whether a statement boundary follows `end` (all boundaries scanned lie before the cursor). */
function endedBefore(boundaries: readonly number[], end: number): boolean {
  return boundaries.length > 0 && boundaries[boundaries.length - 1]! >= end;
}

/** Procedures callable at `offset`: defined (their name written) before it. */
function visibleProcs(view: View, offset: number): ProcRef[] {
  return view.procs.filter((p) => p.nameEnd <= offset);
}

// ---- formatting -----------------------------------------------------------------------------------

function hex(v: Value): string {
  const b = BigInt(v);
  return b < 0n ? `-0x${(-b).toString(16)}` : `0x${b.toString(16)}`;
}

/** The single-bit __GFP_ flags, lowest bit first. */
const GFP_BITS: readonly (readonly [string, number])[] = [...GFP_NAMES]
  .filter(([name, v]) => name.startsWith('__GFP_') && v > 0 && (v & (v - 1)) === 0)
  .sort((a, b) => a[1] - b[1]);

/** The __GFP_ bits a GFP constant is made of, when it is not itself one bit of that name. */
export function gfpComposition(name: string): string | undefined {
  const value = GFP_NAMES.get(name);
  if (value === undefined || value === 0) return undefined;
  const bits = GFP_BITS.filter(([, bit]) => (value & bit) !== 0).map(([n]) => n);
  if (bits.length === 1 && bits[0] === name) return undefined;
  return bits.join(' | ');
}

/** A builtin's call as hovers, completion items and the docs write it: `kmem_cache_create(name, ...[, ctor])`. */
export function builtinSignature(fn: BuiltinFunction): string {
  const optional = fn.optional ?? 0;
  const required = fn.params.slice(0, fn.params.length - optional);
  const rest = fn.params.slice(fn.params.length - optional);
  let text = required.join(', ');
  for (const p of rest) text += text === '' ? `[${p}]` : `[, ${p}]`;
  return `${fn.name}(${text})`;
}

function procSignature(proc: ProcInfo): string {
  return `${proc.name}(${proc.params.join(', ')})`;
}

function procLine(ref: ProcRef): number {
  return ref.proc.definition.name.range.start.line + 1 + ref.lineBase;
}

function procSummary(ref: ProcRef): string {
  const returns = ref.proc.returnsValue ? 'returns a value' : 'returns no value';
  return `Procedure defined at line ${procLine(ref)}; ${returns}.`;
}

function code(text: string): string {
  return '```kmem\n' + text + '\n```';
}

// ---- completion items -----------------------------------------------------------------------------

function item(
  label: string,
  kind: CompletionKind,
  rank: string,
  extra: { detail?: string; documentation?: string; insertText?: string } = {},
): CompletionItem {
  return { label, kind, sortText: `${rank}_${label}`, ...extra };
}

function keywordItem(word: string, rank = '2'): CompletionItem {
  return item(word, 'keyword', rank, {
    detail: `${word} statement`,
    ...(KEYWORD_DOCS[word] ? { documentation: KEYWORD_DOCS[word] } : {}),
    ...(KEYWORD_SNIPPETS[word] ? { insertText: KEYWORD_SNIPPETS[word] } : {}),
  });
}

function builtinItem(fn: BuiltinFunction, rank: string): CompletionItem {
  const required = fn.params.length - (fn.optional ?? 0);
  const args = fn.params
    .slice(0, required)
    .map((p, i) => (fn.stringParams?.includes(i) ? `"\${${i + 1}:${p}}"` : `\${${i + 1}:${p}}`));
  return item(fn.name, 'function', rank, {
    detail: builtinSignature(fn) + (fn.returnsValue ? '' : ': no value'),
    documentation: fn.summary,
    insertText: `${fn.name}(${args.join(', ')})`,
  });
}

function procItem(ref: ProcRef, rank: string, asReference = false): CompletionItem {
  const { proc } = ref;
  const args = proc.params.map((p, i) => `\${${i + 1}:${p}}`);
  return item(proc.name, 'procedure', rank, {
    detail: `proc ${procSignature(proc)}`,
    documentation: procSummary(ref),
    insertText: asReference ? proc.name : `${proc.name}(${args.join(', ')})`,
  });
}

/** The procedure whose parameter a variable is, if it is one. */
function paramOf(ref: VarRef): ProcInfo | undefined {
  const proc = ref.info.proc >= 0 ? ref.owner.analysis.check.procs[ref.info.proc] : undefined;
  return proc?.paramInfos.includes(ref.info) ? proc : undefined;
}

function declarationLine(ref: VarRef): number {
  return ref.info.declaration.start.line + 1 + ref.lineBase;
}

function variableDetail(ref: VarRef): string {
  const proc = paramOf(ref);
  if (proc) return `parameter of ${procSignature(proc)}`;
  const line = declarationLine(ref);
  const name = ref.info.name;
  return ref.info.loopVariable ? `for ${name} (loop variable, line ${line})` : `let ${name} (line ${line})`;
}

function variableItems(vars: readonly VarRef[], rank: string): CompletionItem[] {
  return vars.map((v) => item(v.info.name, 'variable', rank, { detail: variableDetail(v) }));
}

function constantItems(preferred: RegExp | undefined): CompletionItem[] {
  const out: CompletionItem[] = [];
  for (const [name, value] of BUILTIN_CONSTANTS) {
    // Named masks (GFP_KERNEL) before single bits (__GFP_ZERO) among the preferred ones.
    const rank = preferred?.test(name) ? (name.startsWith('__') ? '0b' : '0a') : '5';
    const composition = gfpComposition(name);
    out.push(
      item(name, 'constant', rank, {
        detail: `${name} = ${hex(value)} (${value.toString()})`,
        ...(composition ? { documentation: composition } : {}),
      }),
    );
  }
  return out;
}

function innermostCall(s: Scan): Paren | undefined {
  for (let i = s.parens.length - 1; i >= 0; i--) {
    if (s.parens[i]!.kind === 'call') return s.parens[i];
    if (s.parens[i]!.kind === 'params') return undefined;
  }
  return undefined;
}

/** Variables, value-returning procedures and builtins, and constants: what may start an operand. */
function expressionItems(view: View, s: Scan, offset: number): CompletionItem[] {
  const call = innermostCall(s);
  let preferred: RegExp | undefined;
  const out: CompletionItem[] = [];
  const fn = call && BUILTIN_FUNCTIONS.get(call.callee);
  const param = call && fn?.params[call.commas];
  if (call && fn && param !== undefined) {
    preferred = preferredConstants(fn.name, param);
    if (fn.stringParams?.includes(call.commas)) {
      out.push(
        item(`"${param}"`, 'snippet', '0', {
          detail: `the ${param}: a string literal`,
          insertText: `"\${1:${param}}"`,
        }),
      );
    }
    if (fn.procParams?.includes(call.commas)) {
      // A callback names a procedure of one parameter, without calling it.
      for (const p of visibleProcs(view, offset)) if (p.proc.params.length === 1) out.push(procItem(p, '0', true));
      return out;
    }
  }
  out.push(...variableItems(visibleVariables(view, s, offset), '2'));
  // The procedure being written may call itself: whether it returns a value is not known before its end.
  const own = s.braces.find((b) => b.kind === 'proc');
  const ownBody = own === undefined ? -2 : view.prep.tokens[own.open]!.start;
  for (const p of visibleProcs(view, offset)) {
    if (p.proc.returnsValue || p.bodyOpen === ownBody) out.push(procItem(p, '3'));
  }
  for (const f of BUILTIN_FUNCTIONS.values()) if (f.returnsValue) out.push(builtinItem(f, '4'));
  out.push(...constantItems(preferred));
  return out;
}

function statementItems(view: View, s: Scan, offset: number): CompletionItem[] {
  const out: CompletionItem[] = [];
  const words = ['let', 'if', 'while', 'repeat', 'for', 'expect', 'on', 'print', 'log', 'push', 'pop'];
  for (const word of words) out.push(keywordItem(word));
  if (s.braces.length === 0) out.push(keywordItem('proc'), keywordItem('include'));
  if (s.braces.some((b) => b.kind === 'proc')) out.push(keywordItem('return'));
  if (s.braces.length === 0 && !s.sawStatement && !view.sawStatement) out.push(keywordItem('machine', '0'));
  out.push(...variableItems(visibleVariables(view, s, offset), '1'));
  for (const p of visibleProcs(view, offset)) out.push(procItem(p, '3'));
  for (const fn of BUILTIN_FUNCTIONS.values()) out.push(builtinItem(fn, '4'));
  return out;
}

/** In the machine block: the entries not set yet, or the values of the entry before the cursor. */
function machineItems(text: string, view: View, s: Scan, before: number, wordStart: number): CompletionItem[] {
  const tokens = view.prep.tokens;
  const prev = tokens[before];
  const atEntryStart = (list: readonly Token[], i: number): boolean => {
    const k = list[i - 1]?.kind;
    return k === undefined || k === TokenKind.LBrace || k === TokenKind.Newline || k === TokenKind.Semicolon;
  };
  if (prev && MACHINE_ENTRIES.includes(prev.text) && atEntryStart(tokens, before)) {
    const doc = machineEntryDoc(prev.text);
    return doc.choices.map((c, i) =>
      item(c, 'constant', letter(i), { detail: `${prev.text} ${c}`, documentation: machineEntryText(doc) }),
    );
  }
  if (!atEntryStart(tokens, before + 1)) return [];
  // Entries set in this block already: before the cursor, after it on its line, and on the lines below.
  const set = new Set<string>();
  const collect = (list: readonly Token[], from: number): boolean => {
    for (let i = from; i < list.length; i++) {
      const t = list[i]!;
      if (t.kind === TokenKind.RBrace) return true;
      if (atEntryStart(list, i) && t.start !== wordStart && MACHINE_ENTRIES.includes(t.text)) set.add(t.text);
    }
    return false;
  };
  if (!collect(tokens, s.braces[s.braces.length - 1]!.open + 1)) {
    const from = view.start + view.prep.text.length;
    const close = text.indexOf('}', from);
    const to = close < 0 || close - from > 4096 ? Math.min(text.length, from + 4096) : close;
    collect(lex(text.slice(from, to)).tokens, 0);
  }
  return MACHINE_ENTRIES.filter((e) => !set.has(e)).map((e, i) => {
    const doc = machineEntryDoc(e);
    return item(e, 'machine-entry', letter(i), {
      detail: `${e} ${doc.values}`,
      documentation: machineEntryText(doc),
      insertText: doc.snippet,
    });
  });
}

/** Ranks that keep a list in its order: a, b, ..., z, za, zb, ... */
function letter(i: number): string {
  return 'z'.repeat(Math.floor(i / 25)) + String.fromCharCode(97 + (i % 25));
}

function reportKindItems(): CompletionItem[] {
  return [...REPORT_KINDS.keys()].map((kind) =>
    item(kind, 'report-kind', '0', {
      detail: `expect ${kind} { }`,
      documentation: `The block must make ${reportKindDoc(kind)} (KM5002 otherwise).`,
      insertText: `${kind} {\n\t$0\n}`,
    }),
  );
}

const ON_ITEMS: readonly CompletionItem[] = [
  item('cpu', 'keyword', '0', {
    detail: 'on cpu N { }',
    documentation: KEYWORD_DOCS.cpu,
    insertText: 'cpu ${1:1} {\n\t$0\n}',
  }),
  item('irq', 'keyword', '1', { detail: 'on irq { }', documentation: KEYWORD_DOCS.irq, insertText: 'irq {\n\t$0\n}' }),
  item('softirq', 'keyword', '2', {
    detail: 'on softirq { }',
    documentation: KEYWORD_DOCS.softirq,
    insertText: 'softirq {\n\t$0\n}',
  }),
];

const ELSE_ITEMS: readonly CompletionItem[] = [
  item('else', 'keyword', '0', {
    detail: '} else { }',
    documentation: KEYWORD_DOCS.else,
    insertText: 'else {\n\t$0\n}',
  }),
  item('else if', 'snippet', '1', {
    detail: '} else if cond { }',
    documentation: KEYWORD_DOCS.else,
    insertText: 'else if ${1:cond} {\n\t$0\n}',
  }),
];

function asText(source: unknown): string {
  return typeof source === 'string' ? source : '';
}

function asFileName(fileName: unknown): string {
  return typeof fileName === 'string' ? fileName : 'untitled.kmem';
}

/**
 * Completion proposals at a position: statement keywords, builtins, procedures and variables at the start
 * of a statement; variables, constants and value-returning functions in an expression (the constants an
 * argument takes, such as GFP masks, first); machine entries not yet set in the machine block; report kinds
 * after `expect`; `cpu`, `irq`, `softirq` after `on`. Nothing in comments, strings and numbers, or where a
 * new name is being declared. Never throws.
 */
export function completions(source: string, position: Position, fileName = 'untitled.kmem'): CompletionItem[] {
  const text = asText(source);
  const at = place(text, position);
  if (lexicalState(text, at.lineStart, at.offset) !== 'code') return [];
  let wordStart = at.offset;
  while (wordStart > at.lineStart && isIdentPart(text.charCodeAt(wordStart - 1))) wordStart--;
  if (wordStart < at.offset && isDigit(text.charCodeAt(wordStart))) return [];

  const view = viewOf(text.slice(0, at.lineEnd), asFileName(fileName));
  const tokens = view.prep.tokens;
  const word = wordStart - view.start; // offsets in the view from here on
  const before = tokensBefore(tokens, word) - 1;
  const s = scan(tokens, before + 1);
  const prev = before >= 0 ? tokens[before] : undefined;

  if (s.braces[s.braces.length - 1]?.kind === 'machine') return machineItems(text, view, s, before, word);
  if (s.parens[s.parens.length - 1]?.kind === 'params') return [];
  if (!prev || (s.parens.length === 0 && s.stmtStart === before + 1 && prev.kind !== TokenKind.RBrace)) {
    return statementItems(view, s, word);
  }
  switch (prev.kind) {
    case TokenKind.Keyword:
      switch (prev.text) {
        case 'expect':
          return [...reportKindItems(), ...expressionItems(view, s, word)];
        case 'on':
          return [...ON_ITEMS];
        case 'else':
          return [keywordItem('if', '0')];
        case 'machine':
          return [
            item('{ memory 256M; cpus 2 }', 'snippet', '0', {
              detail: 'machine block',
              insertText: '{ memory ${1:256M}; cpus ${2:2} }',
            }),
          ];
        case 'in':
        case 'if':
        case 'while':
        case 'repeat':
        case 'return':
        case 'print':
        case 'log':
        case 'cpu':
          return expressionItems(view, s, word);
        default:
          return []; // let, for, proc: a new name; irq, softirq: a block; reserved words
      }
    case TokenKind.Identifier: {
      const p2 = tokens[before - 1];
      if (p2?.kind !== TokenKind.Keyword || p2.text !== 'for') return [];
      return [
        item('in', 'keyword', '0', {
          detail: 'for NAME in FROM..TO',
          documentation: KEYWORD_DOCS.in,
          insertText: 'in ${1:0}..${2:8} {\n\t$0\n}',
        }),
      ];
    }
    case TokenKind.RBrace:
      return s.lastClosed === 'if' ? [...ELSE_ITEMS] : [];
    case TokenKind.Number:
    case TokenKind.String:
    case TokenKind.RParen:
    case TokenKind.Dot:
    case TokenKind.Invalid:
    case TokenKind.LBrace:
    case TokenKind.Semicolon:
    case TokenKind.Eof:
      return [];
    default:
      // Operators, "(", ",", "=", "..", and a line break inside parentheses: an operand comes next.
      return expressionItems(view, s, word);
  }
}

// ---- hover ----------------------------------------------------------------------------------------

function builtinHover(fn: BuiltinFunction): string {
  const returns = fn.returnsValue ? `Returns ${fn.returns}.` : 'Returns no value: call it as a statement.';
  return `${code(builtinSignature(fn))}\n\n${fn.summary}\n\n${fn.doc}\n\n${returns}`;
}

function procHover(ref: ProcRef): string {
  const { proc } = ref;
  const n = proc.params.length;
  const params =
    n === 0 ? 'no parameters' : `parameter${n === 1 ? '' : 's'} ${proc.params.map((p) => `\`${p}\``).join(', ')}`;
  const returns = proc.returnsValue ? 'returns a value' : 'returns no value';
  return `${code(`proc ${procSignature(proc)}`)}\n\nProcedure defined at line ${procLine(ref)}: ${params}; ${returns}.`;
}

function constantHover(name: string, value: Value): string {
  const family = constantFamily(name);
  const composition = gfpComposition(name);
  const made = composition ? `\n\nMade of ${composition}.` : '';
  const what = `Builtin ${family?.kind ?? 'constant'}: ${hex(value)} = ${value.toString()}.${made}`;
  return `${code(`${name} = ${hex(value)}`)}\n\n${what}${family ? `\n\n${family.doc}` : ''}`;
}

function variableHover(ref: VarRef): string {
  const { info } = ref;
  const line = declarationLine(ref);
  const proc = paramOf(ref);
  if (proc) {
    const n = proc.paramInfos.indexOf(info) + 1;
    return `${code(`${info.name} (parameter)`)}\n\nParameter ${n} of \`proc ${procSignature(proc)}\`, line ${line}.`;
  }
  if (info.loopVariable) {
    const doc = `Loop variable of the \`for\` at line ${line}: set by the loop, it cannot be assigned.`;
    return `${code(`for ${info.name}`)}\n\n${doc}`;
  }
  const owner = info.proc >= 0 ? ref.owner.analysis.check.procs[info.proc] : undefined;
  const where = owner
    ? `a local of \`proc ${owner.name}\``
    : info.depth === 0
      ? 'a top-level variable'
      : 'local to its block';
  return `${code(`let ${info.name}`)}\n\nVariable declared at line ${line}, ${where}.`;
}

function keywordHover(word: string): string {
  return `**${word}**: ${keywordDoc(word)}`;
}

function reportKindHover(name: string): string {
  if (!REPORT_KINDS.has(name)) {
    return `\`${name}\` is no report kind: expect takes ${[...REPORT_KINDS.keys()].join(', ')} (KM2022).`;
  }
  return (
    `${code(`expect ${name} { ... }`)}\n\nThe block must make ${reportKindDoc(name)}; otherwise the scenario stops ` +
    'with KM5002. The reports it makes are expected: `kmem run` does not count them as findings.'
  );
}

/**
 * Markdown about the token at a position: a builtin's signature and summary, a constant's value (hex and
 * decimal, and the GFP bits it is made of), where a variable is declared and what it is (a parameter, a
 * loop variable), a procedure's parameters, a machine entry's meaning, a keyword, a report kind, a number's
 * value. Undefined on blanks, comments, strings and operators. Never throws.
 */
export function hover(source: string, position: Position, fileName = 'untitled.kmem'): Hover | undefined {
  const text = asText(source);
  const at = place(text, position);
  if (lexicalState(text, at.lineStart, at.offset) === 'comment') return undefined;
  // The whole text: whether a procedure returns a value is decided by its whole body.
  const view = wholeView(cached(documents, text, asFileName(fileName), DOCUMENTS_KEPT));
  const tokens = view.prep.tokens;
  const wordy = (t: Token | undefined): boolean =>
    t !== undefined && (t.kind === TokenKind.Identifier || t.kind === TokenKind.Keyword || t.kind === TokenKind.Number);
  let i = tokensBefore(tokens, at.offset);
  // The token under the cursor, or the word that ends at it (before punctuation or at the end of the line).
  if (!(tokens[i] && tokens[i]!.start <= at.offset && at.offset < tokens[i]!.end && wordy(tokens[i]))) {
    const c = text.charCodeAt(at.offset);
    if (at.offset < at.lineEnd && (c === 32 || c === 9)) return undefined;
    i = i - 1;
    if (!(wordy(tokens[i]) && tokens[i]!.end === at.offset)) return undefined;
  }
  const t = tokens[i]!;
  const range = t.range;
  if (t.kind === TokenKind.Number) {
    if (t.malformed || t.value === undefined || typeof t.value === 'string') return undefined;
    return { contents: `${code(t.text)}\n\n${t.value.toString()} = ${hex(t.value)}`, range };
  }
  if (t.kind === TokenKind.Keyword) return { contents: keywordHover(t.text), range };

  const name = t.text;
  const s = scan(tokens, i);
  const prev = tokens[i - 1];
  const next = tokens[i + 1];
  if (s.braces[s.braces.length - 1]?.kind === 'machine' && MACHINE_ENTRIES.includes(name)) {
    const k = prev?.kind;
    if (k === TokenKind.LBrace || k === TokenKind.Newline || k === TokenKind.Semicolon) {
      const doc = machineEntryDoc(name);
      return { contents: `${code(`${name} ${doc.values}`)}\n\nMachine entry: ${machineEntryText(doc)}`, range };
    }
  }
  if (prev?.kind === TokenKind.Keyword && prev.text === 'expect' && next?.kind === TokenKind.LBrace) {
    return { contents: reportKindHover(name), range };
  }
  const fn = BUILTIN_FUNCTIONS.get(name);
  const proc = view.procs.find((p) => p.proc.name === name);
  if (next?.kind === TokenKind.LParen) {
    if (fn) return { contents: builtinHover(fn), range };
    if (proc) return { contents: procHover(proc), range };
  }
  const known = namesIndex(view.prep).get(`${range.start.line}:${range.start.character}`);
  const variable =
    known && known.name === name
      ? { info: known, owner: view.prep, lineBase: 0 }
      : visibleVariables(view, s, t.start).find((v) => v.info.name === name);
  if (variable) return { contents: variableHover(variable), range };
  const value = BUILTIN_CONSTANTS.get(name);
  if (value !== undefined) return { contents: constantHover(name, value), range };
  if (proc) return { contents: procHover(proc), range };
  if (fn) return { contents: builtinHover(fn), range };
  return undefined;
}

// ---- signature help -------------------------------------------------------------------------------

/**
 * The signature of the call whose parentheses hold the position (the innermost one when calls nest), with
 * the parameter being typed: the top-level commas of the call before the position. Builtins, and procedures
 * defined before the call; undefined elsewhere. Never throws.
 */
export function signatureHelp(source: string, position: Position): SignatureHelp | undefined {
  const text = asText(source);
  const at = place(text, position);
  if (lexicalState(text, at.lineStart, at.offset) === 'comment') return undefined;
  const view = viewOf(text.slice(0, at.lineEnd), 'untitled.kmem');
  const tokens = view.prep.tokens;
  const call = innermostCall(scan(tokens, tokensBefore(tokens, at.offset - view.start)));
  if (!call) return undefined;
  const fn = BUILTIN_FUNCTIONS.get(call.callee);
  if (fn) {
    const documentation = fn.summary;
    return { label: builtinSignature(fn), parameters: [...fn.params], activeParameter: call.commas, documentation };
  }
  const ref = visibleProcs(view, tokens[call.open]!.start).find((p) => p.proc.name === call.callee);
  if (!ref) return undefined;
  return {
    label: procSignature(ref.proc),
    parameters: [...ref.proc.params],
    activeParameter: call.commas,
    documentation: procSummary(ref),
  };
}
