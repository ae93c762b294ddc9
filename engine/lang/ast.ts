/*
 * The syntax tree of a scenario. Every node has the range of its source text; statements also have the
 * range the debugger shows for them (`head`: the whole statement for simple ones, the header line
 * `repeat 10` / `for i in 0..8` / `if cond` / `while cond`, without the body).
 *
 * The parser keeps a node even when part of it is missing (an `ErrorExpr` stands in, already reported),
 * so the checker still sees `let x = <broken>` declare x and later uses of x raise nothing new.
 * `depth` is the height of an expression tree; the parser bounds it so every later pass can recurse.
 */

import { Range } from './diagnostics';
import { Value } from '../vm/values';

export interface Identifier {
  readonly kind: 'identifier';
  readonly name: string;
  readonly range: Range;
}

export type UnaryOp = '-' | '!' | '~';
export type BinaryOp =
  '*' | '/' | '%' | '+' | '-' | '<<' | '>>' | '&' | '^' | '|' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||';

interface ExprBase {
  readonly range: Range;
  readonly depth: number;
}

export interface NumberExpr extends ExprBase {
  readonly kind: 'number';
  readonly value: Value;
  /** Already reported by the lexer (the value is 0). */
  readonly malformed: boolean;
}

export interface StringExpr extends ExprBase {
  readonly kind: 'string';
  readonly value: string;
  /** Already reported by the lexer. */
  readonly malformed: boolean;
}

export interface NameExpr extends ExprBase {
  readonly kind: 'name';
  readonly name: string;
}

export interface CallExpr extends ExprBase {
  readonly kind: 'call';
  readonly callee: Identifier;
  readonly args: readonly Expr[];
}

export interface UnaryExpr extends ExprBase {
  readonly kind: 'unary';
  readonly op: UnaryOp;
  readonly operand: Expr;
}

export interface BinaryExpr extends ExprBase {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  /** The operator token, for runtime errors such as division by zero. */
  readonly opRange: Range;
}

/** `[a, b, c]`: a new list holding the items' values (`[]`: an empty one). */
export interface ListExpr extends ExprBase {
  readonly kind: 'list';
  readonly items: readonly Expr[];
}

/** `pool[i]`: item i of a list (0-based); KM4130 when i is outside 0..len-1. */
export interface IndexExpr extends ExprBase {
  readonly kind: 'index';
  readonly list: Expr;
  readonly index: Expr;
}

/** `pop pool`: removes the list's last item and gives it; KM4129 on an empty list. */
export interface PopExpr extends ExprBase {
  readonly kind: 'pop';
  readonly list: Expr;
  /** The `pop` keyword. */
  readonly keyword: Range;
}

/** Stands in for an expression the parser could not read (the error is already reported). */
export interface ErrorExpr extends ExprBase {
  readonly kind: 'error';
}

export type Expr =
  NumberExpr | StringExpr | NameExpr | CallExpr | UnaryExpr | BinaryExpr | ListExpr | IndexExpr | PopExpr | ErrorExpr;

export interface Block {
  readonly statements: readonly Stmt[];
  readonly range: Range;
}

interface StmtBase {
  readonly range: Range;
  readonly head: Range;
}

export interface LetStmt extends StmtBase {
  readonly kind: 'let';
  readonly name: Identifier;
  readonly init: Expr;
}

export interface AssignStmt extends StmtBase {
  readonly kind: 'assign';
  readonly target: Identifier;
  readonly value: Expr;
}

/** `pool[i] = value`: replaces item i of a list. */
export interface IndexAssignStmt extends StmtBase {
  readonly kind: 'index-assign';
  readonly target: IndexExpr;
  readonly value: Expr;
}

/** `push pool, value`: appends value to the list. */
export interface PushStmt extends StmtBase {
  readonly kind: 'push';
  readonly list: Expr;
  readonly value: Expr;
}

export interface ExprStmt extends StmtBase {
  readonly kind: 'expr';
  readonly expr: Expr;
}

export interface RepeatStmt extends StmtBase {
  readonly kind: 'repeat';
  readonly count: Expr;
  readonly body: Block;
}

export interface ForStmt extends StmtBase {
  readonly kind: 'for';
  readonly variable: Identifier;
  readonly from: Expr;
  readonly to: Expr;
  readonly body: Block;
}

/**
 * `for p in pool { ... }`: runs the body once per item of the list, first to last; head is `for p in pool`.
 * The list is read again before every round, so items pushed by the body are visited too and items popped
 * are not.
 */
export interface ForEachStmt extends StmtBase {
  readonly kind: 'for-each';
  readonly variable: Identifier;
  readonly list: Expr;
  readonly body: Block;
}

/** `if cond { ... } else if cond { ... } else { ... }`; head is `if cond`. */
export interface IfStmt extends StmtBase {
  readonly kind: 'if';
  readonly condition: Expr;
  readonly then: Block;
  /** The else branch: a block, or the next `if` of an `else if` chain. */
  readonly otherwise?: Block | IfStmt;
}

/** `while cond { ... }`; head is `while cond`, evaluated before every round. */
export interface WhileStmt extends StmtBase {
  readonly kind: 'while';
  readonly condition: Expr;
  readonly body: Block;
}

/** `proc name(a, b) { ... }` at the top level; head is `proc name(a, b)`. */
export interface ProcStmt extends StmtBase {
  readonly kind: 'proc';
  readonly name: Identifier;
  readonly params: readonly Identifier[];
  readonly body: Block;
}

/** `return` or `return expr`, inside a procedure. */
export interface ReturnStmt extends StmtBase {
  readonly kind: 'return';
  readonly value?: Expr;
}

/** `expect cond`: the scenario stops with KM5001 when cond is 0. */
export interface ExpectStmt extends StmtBase {
  readonly kind: 'expect';
  readonly condition: Expr;
}

/**
 * `expect slub_debug { ... }`: the block must make a detector report of that kind (KM5002 otherwise); the
 * reports it makes are expected, so `kmem run` does not count them as findings.
 */
export interface ExpectReportStmt extends StmtBase {
  readonly kind: 'expect-report';
  readonly report: Identifier;
  readonly body: Block;
}

/**
 * `on irq { ... }` / `on softirq { ... }`: the block's statements run as an interrupt handler (hardirq: the
 * HARDIRQ count and interrupts off) or a softirq (the SOFTIRQ count), as engine/mm/context.ts keeps them.
 */
export interface OnContextStmt extends StmtBase {
  readonly kind: 'on-context';
  readonly context: 'irq' | 'softirq';
  readonly body: Block;
}

/** `on cpu N { ... }`: the block's statements run on CPU N (machine.cpu); head is `on cpu N`. */
export interface OnCpuStmt extends StmtBase {
  readonly kind: 'on-cpu';
  readonly cpu: Expr;
  readonly body: Block;
}

/**
 * `print items` (the scenario's own output) or `log items` (the kernel log, as pr_info() from kernel code):
 * string literals and values, separated by spaces.
 */
export interface PrintStmt extends StmtBase {
  readonly kind: 'print';
  readonly toLog: boolean;
  readonly items: readonly Expr[];
}

/**
 * `include "lib/pools.kmem"` at the top level: the other file's statements run here, as if written in its
 * place, and its procedures and variables are visible after it. The path is relative to the including
 * file and must stay inside the workspace; engine/lang/include.ts resolves it through the host.
 */
export interface IncludeStmt extends StmtBase {
  readonly kind: 'include';
  /** The path as written (the string literal's contents). */
  readonly path: string;
  /** The string literal. */
  readonly pathRange: Range;
}

export interface MachineEntry {
  readonly name: Identifier;
  readonly value: Expr;
  /** The whole entry, `memory 256M`. */
  readonly range: Range;
}

export interface MachineStmt extends StmtBase {
  readonly kind: 'machine';
  readonly entries: readonly MachineEntry[];
  /** The `machine` keyword. */
  readonly keyword: Range;
}

export type Stmt =
  | LetStmt
  | AssignStmt
  | IndexAssignStmt
  | PushStmt
  | ExprStmt
  | ForEachStmt
  | RepeatStmt
  | ForStmt
  | IfStmt
  | WhileStmt
  | ProcStmt
  | ReturnStmt
  | ExpectStmt
  | ExpectReportStmt
  | OnCpuStmt
  | OnContextStmt
  | PrintStmt
  | IncludeStmt
  | MachineStmt;

export interface Script {
  readonly statements: readonly Stmt[];
  readonly range: Range;
}

/** The expressions and blocks directly inside a statement (an if's whole else-if chain included), in source order. */
export function statementParts(st: Stmt): { exprs: Expr[]; blocks: Block[] } {
  switch (st.kind) {
    case 'let':
      return { exprs: [st.init], blocks: [] };
    case 'assign':
      return { exprs: [st.value], blocks: [] };
    case 'index-assign':
      return { exprs: [st.target, st.value], blocks: [] };
    case 'push':
      return { exprs: [st.list, st.value], blocks: [] };
    case 'expr':
      return { exprs: [st.expr], blocks: [] };
    case 'return':
      return { exprs: st.value ? [st.value] : [], blocks: [] };
    case 'expect':
      return { exprs: [st.condition], blocks: [] };
    case 'print':
      return { exprs: [...st.items], blocks: [] };
    case 'repeat':
      return { exprs: [st.count], blocks: [st.body] };
    case 'for':
      return { exprs: [st.from, st.to], blocks: [st.body] };
    case 'for-each':
      return { exprs: [st.list], blocks: [st.body] };
    case 'while':
      return { exprs: [st.condition], blocks: [st.body] };
    case 'on-cpu':
      return { exprs: [st.cpu], blocks: [st.body] };
    case 'on-context':
    case 'expect-report':
    case 'proc':
      return { exprs: [], blocks: [st.body] };
    case 'if': {
      const exprs: Expr[] = [];
      const blocks: Block[] = [];
      for (let branch: IfStmt | undefined = st; branch;) {
        exprs.push(branch.condition);
        blocks.push(branch.then);
        const o: Block | IfStmt | undefined = branch.otherwise;
        if (o && 'kind' in o) branch = o;
        else {
          if (o) blocks.push(o);
          branch = undefined;
        }
      }
      return { exprs, blocks };
    }
    case 'machine':
      return { exprs: st.entries.map((e) => e.value), blocks: [] };
    case 'include':
      return { exprs: [], blocks: [] };
  }
}

/** The expressions directly inside an expression. */
export function subExpressions(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case 'call':
      return e.args;
    case 'unary':
      return [e.operand];
    case 'binary':
      return [e.left, e.right];
    case 'list':
      return e.items;
    case 'index':
      return [e.list, e.index];
    case 'pop':
      return [e.list];
    default:
      return [];
  }
}
