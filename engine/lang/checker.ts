/*
 * The checker: names, scopes, arity and placement over a parsed Script, and the machine block's settings.
 *
 * Scopes: the top level is scope 0; every loop body is a new scope; a `for` variable belongs to its body
 * scope. A name resolves to the innermost declaration visible at that point (declared by an earlier
 * statement), then to a builtin constant or function. Redeclaring in the same scope is KM2002; an inner
 * scope may shadow an outer variable; builtin names can never be declared (KM2010).
 *
 * Slots: each variable gets a slot in one flat array, allocated like a stack: a scope's variables take
 * the next free slots and give them back when the scope closes, so sibling blocks share slots. Loops take
 * hidden slots for their counters (repeat: remaining count; for: current, end) below their body's. The
 * compiler reads `bindings`, `loopSlots` and `slotCount`; it only runs when the checker found no error.
 *
 * Procedures (`proc f(a, b) { ... }`) are defined at the top level and called after their definition (a
 * procedure may call itself). A procedure's frame has slots of its own, numbered from 0: its parameters,
 * then its locals and loop counters. Inside it, a name resolves to its own scopes, then to the top-level
 * variables declared before the definition (globals), then to builtins. A procedure returns a value when
 * any of its `return` statements has one; then all must (KM2019), and the end of the body returns 0.
 *
 * Types: a value is an integer (a number, an address) or a list of integers (`[]`, a pool of handles). Every
 * variable has the type of its first value; a procedure's parameter is a list when its body first uses it as
 * one (pushes to it, pops it, indexes it, takes its length, iterates it, passes it where a list goes), and the
 * procedure returns a list when its `return`s give one. A list where a number goes is KM2025, a number
 * where a list goes KM2026; so the VM's arithmetic never meets a list.
 *
 * Includes: a top-level `include` (resolved beforehand, engine/lang/include.ts) is checked in place: the
 * included file's statements join the top-level scope as if written there. Diagnostics inside it carry
 * its file name; an include inside a block or procedure is KM2028, a machine block in an included file KM2006.
 *
 * The machine block must be the first statement, at the top level, once (KM2006); its entries must be
 * constant integers (KM2008) and appear once each (KM2009). Their values go to `machine` for validation
 * against engine/mm/config.ts (KM3xxx, in service.ts) with the entry's range.
 */

import { ARCH_NAMES, ArchName, isArchName } from '../mm/arch';
import {
  AssignStmt,
  Block,
  CallExpr,
  Expr,
  ForEachStmt,
  ForStmt,
  IfStmt,
  IncludeStmt,
  LetStmt,
  MachineStmt,
  NameExpr,
  ProcStmt,
  RepeatStmt,
  ReturnStmt,
  Script,
  Stmt,
  statementParts,
  subExpressions,
} from './ast';
import { BUILTIN_CONSTANTS, BUILTIN_FUNCTIONS, REPORT_KINDS, isBuiltinName } from './builtins';
import { Diagnostic, Range, error } from './diagnostics';
import type { IncludeGraph } from './include';
import { foldConstant } from './fold';
import { closest } from './parser';
import { RESERVED_WORDS } from './tokens';
import { parseSlabDebug } from '../mm/slub_debug';
import { __GFP_DIRECT_RECLAIM } from '../mm/gfp';
import { Value } from '../vm/values';

export interface VarInfo {
  readonly name: string;
  readonly slot: number;
  /** Scope depth: 0 for the top level. */
  readonly depth: number;
  /** Declaration order over the whole script. */
  readonly order: number;
  readonly loopVariable: boolean;
  /**
   * A list variable (its first value was a list), not an integer. A parameter starts undecided (undefined):
   * its first use as a list or as a number in the body decides it, in the one pass over the body.
   */
  list: boolean | undefined;
  /** The declared name's range. */
  readonly declaration: Range;
  /** The procedure whose frame holds the slot (its index in CheckResult.procs), -1 for the top level. */
  readonly proc: number;
  /** The file the declaration is in (0: the scenario's own, else an included one: IncludeGraph.files). */
  readonly file: number;
}

/** A procedure: its signature and frame size. */
export interface ProcInfo {
  readonly name: string;
  readonly params: readonly string[];
  /** Some `return expr` exists: calls give its value (0 when the body ends without one). */
  readonly returnsValue: boolean;
  /** Its returns give a list (the body's first `return expr` decides). */
  returnsList: boolean;
  /** Which parameters are lists (used as lists in the body); set when the body has been checked. */
  paramLists: readonly boolean[];
  /** The parameters' variables: slots 0..n-1 of the frame. */
  readonly paramInfos: VarInfo[];
  /** Slots of one frame: parameters, locals, loop counters. */
  slotCount: number;
  readonly definition: ProcStmt;
  /** The file of the definition (0: the scenario's own). */
  readonly file: number;
}

export interface MachineSetting {
  readonly value: Value;
  /** The whole entry (`memory 256M`): where configuration errors point. */
  readonly range: Range;
}

/** `arch sv39`: the architecture named, and the entry's range. */
export interface ArchSetting {
  readonly name: ArchName;
  readonly range: Range;
}

/** `slab_freelist_hardened y|n`: CONFIG_SLAB_FREELIST_HARDENED, and the entry's range. */
export interface FlagSetting {
  readonly on: boolean;
  readonly range: Range;
}

/** `slab_debug "FZPU,kmalloc-*"`: the slab_debug= boot option's value, and the entry's range. */
export interface TextSetting {
  readonly text: string;
  readonly range: Range;
}

export interface MachineSettings {
  readonly memory?: MachineSetting;
  readonly cpus?: MachineSetting;
  readonly arch?: ArchSetting;
  readonly slab_freelist_hardened?: FlagSetting;
  readonly slab_debug?: TextSetting;
  /** `kasan y`: CONFIG_KASAN=y (generic). */
  readonly kasan?: FlagSetting;
  /** `kasan_multi_shot y`: the boot option that prints every KASAN report. */
  readonly kasan_multi_shot?: FlagSetting;
  /** `kmemleak y`: CONFIG_DEBUG_KMEMLEAK=y. */
  readonly kmemleak?: FlagSetting;
  /** `kfence 100`: CONFIG_KFENCE with kfence.sample_interval in ms (0: off). */
  readonly kfence?: MachineSetting;
  /** `seed 42`: the seed of the machine's random numbers. */
  readonly seed?: MachineSetting;
  /** The machine block that configures the machine, when the script has one in the right place. */
  readonly block?: MachineStmt;
}

export type Binding = NameExpr | LetStmt | AssignStmt | ForStmt | ForEachStmt;

/** An expression's type: 'value' (an integer), 'list', or undefined where an error already stands. */
type Ty = 'value' | 'list' | undefined;

export interface CheckResult {
  readonly diagnostics: Diagnostic[];
  /** The variable each name use, let, assignment and for statement refers to. */
  readonly bindings: Map<Binding, VarInfo>;
  /** The first hidden slot of each loop (repeat: 1 slot, for: 2, for-each: 2). */
  readonly loopSlots: Map<RepeatStmt | ForStmt | ForEachStmt, number>;
  /** Every variable, in declaration order. */
  readonly variables: VarInfo[];
  /** Slots the top-level frame needs (named and hidden). */
  readonly slotCount: number;
  readonly machine: MachineSettings;
  /** Procedures in definition order. */
  readonly procs: readonly ProcInfo[];
  /** The procedure (index into procs) each call of a procedure calls; builtin calls are not in it. */
  readonly procCalls: Map<CallExpr, number>;
  /** The procedure each callback argument (a constructor given to kmem_cache_create) names. */
  readonly procRefs: Map<Expr, number>;
}

export function check(script: Script, includes?: IncludeGraph): CheckResult {
  return new Checker(includes).run(script);
}

const isConstantName = (name: string): boolean => BUILTIN_CONSTANTS.has(name);

class Checker {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly bindings = new Map<Binding, VarInfo>();
  private readonly loopSlots = new Map<RepeatStmt | ForStmt | ForEachStmt, number>();
  private readonly variables: VarInfo[] = [];
  private readonly scopes: Map<string, VarInfo>[] = [];
  private nextSlot = 0;
  private slotCount = 0;
  private machine: MachineSettings = {};
  private sawMachine = false;
  private readonly procs: ProcInfo[] = [];
  private readonly procIds = new Map<string, number>();
  private readonly procCalls = new Map<CallExpr, number>();
  private readonly procRefs = new Map<Expr, number>();
  /** Top-level procedure names, for the message of a call that comes before the definition. */
  private readonly definedLater = new Map<string, Range>();
  /** The procedure being checked: its index and the first of its scopes in `scopes`. */
  private current: { proc: number; firstScope: number } | undefined;
  /** The file whose statements are being checked (0: the scenario's own). */
  private file = 0;

  constructor(private readonly includes: IncludeGraph | undefined) {}

  run(script: Script): CheckResult {
    for (const st of script.statements) {
      if (st.kind === 'proc' && !this.definedLater.has(st.name.name)) {
        this.definedLater.set(st.name.name, st.name.range);
      }
    }
    this.scopes.push(new Map());
    script.statements.forEach((stmt, index) => this.statement(stmt, index === 0));
    return {
      diagnostics: this.diagnostics,
      bindings: this.bindings,
      loopSlots: this.loopSlots,
      variables: this.variables,
      slotCount: this.slotCount,
      machine: this.machine,
      procs: this.procs,
      procCalls: this.procCalls,
      procRefs: this.procRefs,
    };
  }

  private report(code: string, message: string, at: Range): void {
    this.diagnostics.push(this.inFile(error(code, message, at)));
  }

  private warn(code: string, message: string, at: Range): void {
    this.diagnostics.push(this.inFile({ ...error(code, message, at), severity: 'warning' }));
  }

  private inFile(d: Diagnostic): Diagnostic {
    return this.file === 0 ? d : { ...d, file: this.includes!.files[this.file]!.fileName };
  }

  /** `include "file"`: the file's statements, checked in place at the top level. */
  private include(stmt: IncludeStmt): void {
    if (this.scopes.length > 1 || this.current) {
      this.report('KM2028', `include is only allowed at the top level, not inside a block or procedure`, stmt.head);
      return;
    }
    const target = this.includes?.targets.get(stmt);
    if (target === undefined) return; // runs nothing: reported by resolveIncludes, or included before
    const saved = this.file;
    this.file = target;
    for (const st of this.includes!.files[target]!.script.statements) this.statement(st, false);
    this.file = saved;
  }

  /** `on irq` / `on softirq` blocks around the statement being checked. */
  private interruptDepth = 0;

  private allocate(count: number): number {
    const slot = this.nextSlot;
    this.nextSlot += count;
    this.slotCount = Math.max(this.slotCount, this.nextSlot);
    return slot;
  }

  /** The scopes a name can resolve to here, innermost first: a procedure sees its own, then the globals. */
  private visibleScopes(): Map<string, VarInfo>[] {
    const first = this.current?.firstScope ?? 1;
    const own = this.scopes.slice(first).reverse();
    return [...own, this.scopes[0]!];
  }

  private lookup(name: string): VarInfo | undefined {
    for (const scope of this.visibleScopes()) {
      const v = scope.get(name);
      if (v) {
        return v;
      }
    }
    return undefined;
  }

  private visibleNames(): string[] {
    const names = new Set<string>();
    for (const scope of this.visibleScopes()) {
      for (const name of scope.keys()) names.add(name);
    }
    return [...names];
  }

  /** `list`: the variable's type; null for a parameter, which its first use decides. */
  private declare(name: string, at: Range, loopVariable: boolean, list: boolean | null = false): VarInfo | undefined {
    if (RESERVED_WORDS.has(name)) {
      return undefined; // already reported by the parser
    }
    if (isBuiltinName(name)) {
      const what = BUILTIN_FUNCTIONS.has(name) ? 'function' : 'constant';
      this.report('KM2010', `'${name}' is a built-in ${what} and cannot be declared again`, at);
      return undefined;
    }
    if (this.procIds.has(name)) {
      this.report(
        'KM2002',
        `'${name}' is a procedure (line ${this.procs[this.procIds.get(name)!]!.definition.name.range.start.line + 1}); pick another name`,
        at,
      );
      return undefined;
    }
    const scope = this.scopes[this.scopes.length - 1]!;
    const previous = scope.get(name);
    if (previous) {
      this.report(
        'KM2002',
        `'${name}' is already declared in this scope (line ${previous.declaration.start.line + 1}); assign it with ${name} = ... instead`,
        at,
      );
      return undefined;
    }
    const info: VarInfo = {
      name,
      slot: this.allocate(1),
      depth: this.scopes.length - 1,
      order: this.variables.length,
      loopVariable,
      list: list ?? undefined,
      declaration: at,
      proc: this.current?.proc ?? -1,
      file: this.file,
    };
    scope.set(name, info);
    this.variables.push(info);
    return info;
  }

  private statement(stmt: Stmt, first: boolean): void {
    switch (stmt.kind) {
      case 'let': {
        const ty = this.expr(stmt.init, true);
        const info = this.declare(stmt.name.name, stmt.name.range, false, ty === 'list');
        if (info) this.bindings.set(stmt, info);
        break;
      }
      case 'assign': {
        const ty = this.expr(stmt.value, true);
        const info = this.assignTarget(stmt);
        if (info && info.list === undefined && ty !== undefined) info.list = ty === 'list';
        if (info && ty !== undefined && (ty === 'list') !== info.list) {
          if (info.list) this.needList(stmt.value, `'${info.name}' is a list`);
          else this.needValue(stmt.value, ty, `'${info.name}' is a number`);
        }
        break;
      }
      case 'index-assign':
        this.list(stmt.target.list, 'indexing');
        this.value(stmt.target.index);
        this.value(stmt.value);
        break;
      case 'push':
        this.list(stmt.list, 'push');
        this.value(stmt.value);
        break;
      case 'for-each':
        this.list(stmt.list, 'for ... in');
        this.forBody(stmt);
        break;
      case 'expr':
        this.expressionStatement(stmt.expr);
        break;
      case 'repeat': {
        this.value(stmt.count);
        const base = this.nextSlot;
        this.loopSlots.set(stmt, this.allocate(1));
        this.block(stmt.body);
        this.nextSlot = base;
        break;
      }
      case 'for':
        this.value(stmt.from);
        this.value(stmt.to);
        this.forBody(stmt);
        break;
      case 'if':
        this.ifStatement(stmt);
        break;
      case 'while':
        this.value(stmt.condition);
        this.block(stmt.body);
        break;
      case 'proc':
        this.procedure(stmt);
        break;
      case 'expect':
        this.value(stmt.condition);
        break;
      case 'print':
        if (stmt.items.length > PRINT_MAX_ITEMS) {
          this.report('KM2023', `${stmt.toLog ? 'log' : 'print'} takes at most ${PRINT_MAX_ITEMS} items`, stmt.head);
        }
        for (const item of stmt.items) if (item.kind !== 'string') this.expr(item, true);
        break;
      case 'on-cpu':
        this.value(stmt.cpu);
        this.block(stmt.body);
        break;
      case 'on-context':
        this.interruptDepth++;
        this.block(stmt.body);
        this.interruptDepth--;
        break;
      case 'expect-report':
        if (!REPORT_KINDS.has(stmt.report.name)) {
          this.report(
            'KM2022',
            `'${stmt.report.name}' is no report kind: expect takes ${[...REPORT_KINDS.keys()].join(', ')}`,
            stmt.report.range,
          );
        }
        this.block(stmt.body);
        break;
      case 'return':
        this.returnStatement(stmt);
        break;
      case 'machine':
        this.machineBlock(stmt, first);
        break;
      case 'include':
        this.include(stmt);
        break;
    }
  }

  /** A for loop's two hidden slots (the counter or list, and the end or index) and its body, with the variable in it. */
  private forBody(stmt: ForStmt | ForEachStmt): void {
    const base = this.nextSlot;
    this.loopSlots.set(stmt, this.allocate(2));
    this.block(stmt.body, () => {
      const info = this.declare(stmt.variable.name, stmt.variable.range, true);
      if (info) this.bindings.set(stmt, info);
    });
    this.nextSlot = base;
  }

  private procedure(stmt: ProcStmt): void {
    const name = stmt.name.name;
    if (this.scopes.length > 1 || this.current) {
      this.report('KM2018', `a procedure can only be defined at the top level, not inside a block`, stmt.head);
      return;
    }
    if (RESERVED_WORDS.has(name)) return; // reported by the parser
    if (isBuiltinName(name)) {
      const what = BUILTIN_FUNCTIONS.has(name) ? 'function' : 'constant';
      this.report('KM2010', `'${name}' is a built-in ${what} and cannot be declared again`, stmt.name.range);
      return;
    }
    const clash = this.procIds.has(name) ? 'a procedure' : this.scopes[0]!.has(name) ? 'a variable' : undefined;
    if (clash) {
      this.report('KM2002', `'${name}' is already ${clash}; a procedure needs a name of its own`, stmt.name.range);
      return;
    }
    const returns = collectReturns(stmt.body);
    const withValue = returns.filter((r) => r.value !== undefined);
    const returnsValue = withValue.length > 0;
    if (returnsValue) {
      for (const r of returns) {
        if (r.value === undefined) {
          this.report(
            'KM2019',
            `${name} returns a value elsewhere (line ${withValue[0]!.range.start.line + 1}): return one here too`,
            r.range,
          );
        }
      }
    }
    const info: ProcInfo = {
      name,
      params: stmt.params.map((p) => p.name),
      paramInfos: [],
      returnsValue,
      returnsList: false,
      paramLists: [],
      file: this.file,
      slotCount: 0,
      definition: stmt,
    };
    const id = this.procs.length;
    this.procs.push(info);
    this.procIds.set(name, id); // before the body: a procedure may call itself
    const saved = { nextSlot: this.nextSlot, slotCount: this.slotCount };
    this.nextSlot = 0;
    this.slotCount = 0;
    this.current = { proc: id, firstScope: this.scopes.length };
    this.block(stmt.body, () => {
      for (const p of stmt.params) {
        const v = this.declare(p.name, p.range, false, null);
        if (v) info.paramInfos.push(v);
      }
    });
    for (const v of info.paramInfos) v.list ??= false; // never used either way: a number
    info.paramLists = info.paramInfos.map((v) => v.list === true);
    info.slotCount = this.slotCount;
    this.current = undefined;
    this.nextSlot = saved.nextSlot;
    this.slotCount = saved.slotCount;
  }

  private returnStatement(stmt: ReturnStmt): void {
    if (!this.current) {
      this.report('KM2020', `return is only allowed inside a procedure`, stmt.head);
      return;
    }
    if (!stmt.value) return;
    const proc = this.procs[this.current.proc]!;
    const ty = this.expr(stmt.value, true);
    if (ty === undefined) return;
    const first = collectReturns(proc.definition.body).find((r) => r.value !== undefined);
    if (first === stmt) {
      proc.returnsList = ty === 'list';
    } else if ((ty === 'list') !== proc.returnsList) {
      const why = `${proc.name} returns ${proc.returnsList ? 'a list' : 'a number'} at line ${first!.range.start.line + 1}`;
      if (proc.returnsList) this.needList(stmt.value, why);
      else this.needValue(stmt.value, ty, why);
    }
  }

  /** Checks an expression whose value must be an integer. */
  private value(expr: Expr, why?: string): void {
    const ty = this.expr(expr, true);
    if (ty === undefined) this.decide(expr, false);
    this.needValue(expr, ty, why);
  }

  /** A parameter not decided yet becomes a list or a number at this use. */
  private decide(expr: Expr, list: boolean): void {
    const info = expr.kind === 'name' ? this.bindings.get(expr) : undefined;
    if (info && info.list === undefined) info.list = list;
  }

  private needValue(expr: Expr, ty: Ty, why?: string): void {
    if (ty !== 'list') return;
    const what = expr.kind === 'name' ? `'${expr.name}' is a list` : 'this is a list';
    const name = expr.kind === 'name' ? expr.name : 'pool';
    this.report(
      'KM2025',
      `${what}, not a number${why ? ` (${why})` : ''}: use length(${name}), ${name}[i] or pop ${name}`,
      expr.range,
    );
  }

  /** Checks an expression whose value must be a list (`what` is the operation, for the message). */
  private list(expr: Expr, what: string): void {
    const ty = this.expr(expr, true);
    if (ty === undefined) this.decide(expr, true);
    if (ty === 'value') this.needList(expr, `${what} takes a list`);
  }

  private needList(expr: Expr, why: string): void {
    const what = expr.kind === 'name' ? `'${expr.name}' is a number` : 'this is a number';
    this.report('KM2026', `${why}, and ${what}: make a list with let pool = []`, expr.range);
  }

  /** An if and its else-if chain; each branch is a scope of its own. Iterative, so long chains are cheap. */
  private ifStatement(stmt: IfStmt): void {
    for (let branch: IfStmt | undefined = stmt; branch;) {
      this.value(branch.condition);
      this.block(branch.then);
      const otherwise: Block | IfStmt | undefined = branch.otherwise;
      if (otherwise && 'kind' in otherwise) {
        branch = otherwise;
      } else {
        if (otherwise) this.block(otherwise);
        branch = undefined;
      }
    }
  }

  private block(block: Block, prologue?: () => void): void {
    const base = this.nextSlot;
    const scope = new Map<string, VarInfo>();
    this.scopes.push(scope);
    prologue?.();
    for (const stmt of block.statements) {
      this.statement(stmt, false);
    }
    this.scopes.pop();
    this.nextSlot = base;
  }

  private assignTarget(stmt: AssignStmt): VarInfo | undefined {
    const name = stmt.target.name;
    const info = this.lookup(name);
    if (info) {
      if (info.loopVariable) {
        this.report(
          'KM2015',
          `'${name}' is the loop variable: the loop sets it, it cannot be assigned`,
          stmt.target.range,
        );
        return undefined;
      }
      this.bindings.set(stmt, info);
      return info;
    }
    if (isBuiltinName(name)) {
      const what = BUILTIN_FUNCTIONS.has(name) ? 'function' : 'constant';
      this.report('KM2010', `'${name}' is a built-in ${what} and cannot be assigned`, stmt.target.range);
      return;
    }
    const hint = closest(name, this.visibleNames());
    this.report(
      'KM2001',
      `unknown name '${name}'${hint ? `; did you mean '${hint}'?` : `: declare it first with let ${name} = ...`}`,
      stmt.target.range,
    );
    return undefined;
  }

  private expressionStatement(expr: Expr): void {
    if (expr.kind === 'call' || expr.kind === 'pop') {
      this.expr(expr, false);
      return;
    }
    if (expr.kind === 'error') {
      return;
    }
    const before = this.diagnostics.length;
    this.expr(expr, true);
    if (this.diagnostics.length === before && !hasMalformed(expr)) {
      const hint = expr.kind === 'binary' && expr.op === '==' ? `; to assign, write '=' instead of '=='` : '';
      this.report(
        'KM2013',
        `this expression has no effect: only calls can stand alone as statements${hint}`,
        expr.range,
      );
    }
  }

  /** Checks an expression and gives its type; `asValue` when its value is used (a call must then return one). */
  private expr(expr: Expr, asValue: boolean): Ty {
    switch (expr.kind) {
      case 'number':
        return 'value';
      case 'error':
        return undefined;
      case 'string':
        if (!expr.malformed) {
          this.report('KM2014', `a string literal is not a value: only print and log take one`, expr.range);
        }
        return undefined;
      case 'name': {
        const info = this.lookup(expr.name);
        if (info) {
          this.bindings.set(expr, info);
          return info.list === undefined ? undefined : info.list ? 'list' : 'value';
        }
        if (BUILTIN_CONSTANTS.has(expr.name)) {
          return 'value';
        }
        if (BUILTIN_FUNCTIONS.has(expr.name)) {
          this.report('KM2011', `'${expr.name}' is a function: call it, as in ${expr.name}(...)`, expr.range);
          return undefined;
        }
        const hint = closest(expr.name, [...this.visibleNames(), ...BUILTIN_CONSTANTS.keys()]);
        this.report('KM2001', `unknown name '${expr.name}'${hint ? `; did you mean '${hint}'?` : ''}`, expr.range);
        return undefined;
      }
      case 'list':
        if (expr.items.length > LIST_LITERAL_MAX) {
          this.report('KM2027', `a list literal takes at most ${LIST_LITERAL_MAX} items; push the rest`, expr.range);
        }
        for (const item of expr.items) this.value(item);
        return 'list';
      case 'index':
        this.list(expr.list, 'indexing');
        this.value(expr.index);
        return 'value';
      case 'pop':
        this.list(expr.list, 'pop');
        return 'value';
      case 'call': {
        const name = expr.callee.name;
        const procId = this.procIds.get(name);
        const fn = BUILTIN_FUNCTIONS.get(name) ?? (procId === undefined ? undefined : this.procs[procId]);
        if (procId !== undefined) this.procCalls.set(expr, procId);
        if (fn) {
          const n = fn.params.length;
          const min = n - ('optional' in fn && fn.optional ? fn.optional : 0);
          if (expr.args.length < min || expr.args.length > n) {
            const count = min === n ? `${n}` : `${min} or ${n}`;
            this.report(
              'KM2004',
              `${name} takes ${count} argument${n === 1 ? '' : 's'} (${fn.params.join(', ')}), not ${expr.args.length}`,
              expr.range,
            );
          } else if (asValue && !fn.returnsValue) {
            this.report('KM2012', `${name} returns no value`, expr.range);
          }
        } else if (this.lookup(name) || BUILTIN_CONSTANTS.has(name)) {
          const what = this.lookup(name) ? 'a variable' : 'a constant';
          this.report('KM2016', `'${name}' is ${what}, not a function`, expr.callee.range);
        } else if (this.definedLater.has(name)) {
          this.report(
            'KM2003',
            `'${name}' is defined at line ${this.definedLater.get(name)!.start.line + 1}, after this call: define a procedure before its first call`,
            expr.callee.range,
          );
        } else {
          const hint = closest(name, [...this.procIds.keys(), ...BUILTIN_FUNCTIONS.keys()]);
          this.report(
            'KM2003',
            `unknown function '${name}'${hint ? `; did you mean '${hint}'?` : ` (functions: ${[...BUILTIN_FUNCTIONS.keys()].join(', ')})`}`,
            expr.callee.range,
          );
        }
        const proc = procId === undefined ? undefined : this.procs[procId];
        expr.args.forEach((arg, i) => {
          if (fn && 'procParams' in fn && fn.procParams?.includes(i)) {
            this.callbackArgument(name, fn.params[i]!, arg);
            return;
          }
          if (name === LIST_LENGTH && !proc) {
            this.list(arg, 'length');
            return;
          }
          const listParam = proc && procId === this.current?.proc ? proc.paramInfos[i]?.list : proc?.paramLists[i];
          if (proc && listParam === undefined) {
            this.expr(arg, true); // a recursive call before the parameter's first use: either kind
            return;
          }
          if (listParam) {
            this.list(arg, `the ${proc!.params[i]} of ${name}`);
            return;
          }
          if (fn && fn.params[i] === 'gfp' && this.interruptDepth > 0) {
            // might_alloc() in interrupt context: a mask that may block is the bug the kernel reports at run time.
            const gfp = foldConstant(arg, isConstantName);
            if (typeof gfp === 'number' && gfp & __GFP_DIRECT_RECLAIM) {
              this.warn(
                'KM2024',
                `${name} in an interrupt handler with a GFP mask that may sleep (__GFP_DIRECT_RECLAIM): use GFP_ATOMIC`,
                arg.range,
              );
            }
          }
          if (fn && 'stringParams' in fn && fn.stringParams?.includes(i)) {
            if (arg.kind !== 'string') {
              this.report(
                'KM2017',
                `the ${fn.params[i]} of ${name} must be a string literal ("name"), not an expression`,
                arg.range,
              );
            }
            return;
          }
          this.value(arg, proc ? `the ${proc.params[i]} of ${name} is a number` : undefined);
        });
        return proc?.returnsList ? 'list' : fn ? 'value' : undefined;
      }
      case 'unary':
        this.value(expr.operand);
        return 'value';
      case 'binary':
        this.value(expr.left);
        this.value(expr.right);
        return 'value';
    }
  }

  /**
   * `slab_debug "..."`: the boot option's value as a string literal, parsed as setup_slub_debug() parses it.
   * What the kernel would skip with a message (a letter it does not know) is an error here, at its letter.
   */
  private slabDebugEntry(value: Expr, range: Range, settings: { slab_debug?: TextSetting }): void {
    if (value.kind !== 'string') {
      if (!hasMalformed(value)) {
        this.report(
          'KM2008',
          `'slab_debug' takes the option's value as a string, as in slab_debug "FZPU"`,
          value.range,
        );
      }
      return;
    }
    if (value.malformed) return;
    const parsed = parseSlabDebug(value.value);
    const problems = parsed.ok ? parsed.warnings : [parsed.error];
    for (const p of problems) {
      // The literal's text starts one character after its opening quote (escapes are rare here).
      const at = value.range.start;
      const ch = at.line === value.range.end.line ? at.character + 1 + p.offset : at.character;
      this.report('KM2008', `slab_debug: ${p.message}`, {
        start: { line: at.line, character: ch },
        end: { line: at.line, character: ch + 1 },
      });
    }
    if (problems.length === 0) settings.slab_debug = { text: value.value, range };
  }

  /** A callback argument (kmem_cache_create's ctor): the name of a procedure of one parameter, defined before. */
  private callbackArgument(fn: string, param: string, arg: Expr): void {
    const id = arg.kind === 'name' ? this.procIds.get(arg.name) : undefined;
    if (id !== undefined && this.procs[id]!.params.length === 1) {
      this.procRefs.set(arg, id);
      return;
    }
    const why =
      id !== undefined
        ? `${this.procs[id]!.name} takes ${this.procs[id]!.params.length} parameters; a ${param} takes the object`
        : `name a procedure defined before this call, as in proc init_once(obj) { ... }`;
    this.report('KM2021', `the ${param} of ${fn} must be a procedure of one parameter: ${why}`, arg.range);
  }

  private machineBlock(stmt: MachineStmt, first: boolean): void {
    if (this.scopes.length > 1) {
      this.report('KM2006', `a machine block can only be at the top of the file, not inside a block`, stmt.keyword);
      return;
    }
    if (this.file !== 0) {
      this.report(
        'KM2006',
        `an included file cannot configure the machine: the machine block belongs to the scenario that includes it`,
        stmt.keyword,
      );
      return;
    }
    if (this.sawMachine) {
      this.report('KM2006', `only one machine block is allowed`, stmt.keyword);
      return;
    }
    this.sawMachine = true;
    if (!first) {
      this.report('KM2006', `the machine block must come before any other statement`, stmt.keyword);
      return;
    }
    const settings: {
      memory?: MachineSetting;
      cpus?: MachineSetting;
      arch?: ArchSetting;
      slab_freelist_hardened?: FlagSetting;
      slab_debug?: TextSetting;
      kasan?: FlagSetting;
      kasan_multi_shot?: FlagSetting;
      kmemleak?: FlagSetting;
      kfence?: MachineSetting;
      seed?: MachineSetting;
      block: MachineStmt;
    } = {
      block: stmt,
    };
    for (const entry of stmt.entries) {
      const key = entry.name.name as
        | 'memory'
        | 'cpus'
        | 'arch'
        | 'slab_freelist_hardened'
        | 'slab_debug'
        | 'kasan'
        | 'kasan_multi_shot'
        | 'kmemleak'
        | 'kfence'
        | 'seed';
      if (settings[key]) {
        this.report('KM2009', `'${key}' is already set in this machine block`, entry.range);
        continue;
      }
      if (key === 'arch') {
        const name = archWord(entry.value);
        if (name !== undefined && isArchName(name)) {
          settings.arch = { name, range: entry.range };
        } else if (!hasMalformed(entry.value)) {
          this.report(
            'KM2008',
            `'arch' must name an architecture: ${ARCH_NAMES.join(', ')}${name !== undefined ? `, not '${name}'` : ''}`,
            entry.value.range,
          );
        }
        continue;
      }
      if (key === 'slab_debug') {
        this.slabDebugEntry(entry.value, entry.range, settings);
        continue;
      }
      if (key in FLAG_ENTRY_MEANING) {
        const flag = key as keyof typeof FLAG_ENTRY_MEANING;
        // Kconfig's (or the boot option's) answers: y or n.
        const word = entry.value.kind === 'name' ? entry.value.name : undefined;
        if (word === 'y' || word === 'n') {
          settings[flag] = { on: word === 'y', range: entry.range };
        } else if (!hasMalformed(entry.value)) {
          this.report(
            'KM2008',
            `'${flag}' is y or n (${FLAG_ENTRY_MEANING[flag]})${word !== undefined ? `, not '${word}'` : ''}`,
            entry.value.range,
          );
        }
        continue;
      }
      const before = this.diagnostics.length;
      this.expr(entry.value, true);
      if (this.diagnostics.length > before) {
        continue;
      }
      const value = foldConstant(entry.value, isConstantName);
      if (value === undefined && !hasMalformed(entry.value)) {
        this.report(
          'KM2008',
          `the value of '${key}' must be a constant integer (${key === 'memory' ? 'memory 256M' : key === 'kfence' ? 'kfence 100' : key === 'seed' ? 'seed 42' : 'cpus 2'})`,
          entry.value.range,
        );
        continue;
      }
      if (value !== undefined && (key === 'memory' || key === 'cpus' || key === 'kfence' || key === 'seed')) {
        settings[key] = { value, range: entry.range };
      }
    }
    this.machine = settings;
  }
}

/** The builtin that gives a list's length (`length(pool)`; `len` stays free for packet lengths): it takes a list, so the checker and compiler know it by name. */
export const LIST_LENGTH = 'length';
/** Items a `[...]` literal may hold (longer lists grow with push). */
export const LIST_LITERAL_MAX = 1024;

/** What each y/n machine entry turns on, for its error message. */
const FLAG_ENTRY_MEANING = {
  slab_freelist_hardened: 'CONFIG_SLAB_FREELIST_HARDENED',
  kasan: 'CONFIG_KASAN, generic mode',
  kasan_multi_shot: 'the kasan_multi_shot boot option',
  kmemleak: 'CONFIG_DEBUG_KMEMLEAK',
} as const;

/** The word an `arch` entry spells: a name (sv39), a string ("x86_64-la57") or the name pair x86_64-la57. */
function archWord(expr: Expr): string | undefined {
  if (expr.kind === 'name') return expr.name;
  if (expr.kind === 'string') return expr.value;
  if (expr.kind === 'binary' && expr.op === '-' && expr.left.kind === 'name' && expr.right.kind === 'name') {
    return `${expr.left.name}-${expr.right.name}`;
  }
  return undefined;
}

/** Whether an expression holds a token the lexer already reported (no second diagnostic for it). */
/** Items one print or log statement may take (the VM's instruction carries a bit per item). */
export const PRINT_MAX_ITEMS = 16;

/** The return statements of a procedure body, in its nested blocks too (a nested proc is an error anyway). */
function collectReturns(block: Block): ReturnStmt[] {
  const out: ReturnStmt[] = [];
  const visit = (b: Block): void => {
    for (const st of b.statements) {
      if (st.kind === 'return') out.push(st);
      else if (st.kind !== 'proc') statementParts(st).blocks.forEach(visit);
    }
  };
  visit(block);
  return out;
}

function hasMalformed(expr: Expr): boolean {
  switch (expr.kind) {
    case 'number':
    case 'string':
      return expr.malformed;
    case 'error':
      return true;
    default:
      return subExpressions(expr).some(hasMalformed);
  }
}
