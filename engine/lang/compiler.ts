/*
 * The compiler: a checked Script to a Program (engine/vm/program.ts), in one walk.
 *
 * Caller's duty: compile only a script the checker passed without errors (bindings and loop slots must
 * exist); a missing one is an internal error and throws. Constant subexpressions are folded with the VM's
 * own arithmetic; int32 values are immediates, wider ones go to the constant pool (deduplicated).
 * `&&` and `||` short-circuit and give 0 or 1. The operand stack depth is tracked so the VM can size its
 * stack once.
 */

import { Block, Expr, IfStmt, Script, Stmt } from './ast';
import { BUILTIN_CONSTANTS, BUILTIN_FUNCTIONS, REPORT_KINDS } from './builtins';
import { CheckResult, LIST_LENGTH, VarInfo } from './checker';
import type { IncludeGraph } from './include';
import { Range, cover } from './diagnostics';
import { foldConstant } from './fold';
import { ALL_GENERIC_BUILTINS as GENERIC_BUILTINS, GENERIC_BUILTIN_IDS } from '../vm/calls';
import { Op, PagesCall, ProcedureInfo, Program, StatementInfo, VariableInfo, baseName } from '../vm/program';
import { Value } from '../vm/values';
import { CONTEXT_IRQ, CONTEXT_SOFTIRQ } from '../vm/vm';

export function compile(script: Script, checked: CheckResult, fileName: string, includes?: IncludeGraph): Program {
  return new Compiler(checked, fileName, includes).compile(script);
}

const BINARY_OPS: Readonly<Record<string, Op>> = {
  '+': Op.Add,
  '-': Op.Sub,
  '*': Op.Mul,
  '/': Op.Div,
  '%': Op.Mod,
  '<<': Op.Shl,
  '>>': Op.Shr,
  '&': Op.BitAnd,
  '|': Op.BitOr,
  '^': Op.BitXor,
  '==': Op.Eq,
  '!=': Op.Ne,
  '<': Op.Lt,
  '<=': Op.Le,
  '>': Op.Gt,
  '>=': Op.Ge,
};

/** Binary operators that can fail at run time and so carry a site. */
const FAILING_OPS = new Set([Op.Div, Op.Mod, Op.Shl, Op.Shr]);

interface PendingVariable {
  readonly info: VarInfo;
  readonly visibleFrom: number;
}

class Compiler {
  private readonly code: number[] = [];
  private readonly constants: Value[] = [];
  private readonly strings: string[] = [];
  private readonly constantIndex = new Map<string, number>();
  private readonly statements: StatementInfo[] = [];
  private readonly sites: Range[] = [];
  private readonly siteFiles: number[] = [];
  /** The file whose statements are being compiled (0: the scenario's own). */
  private file = 0;
  private readonly variables: VariableInfo[] = [];
  /** Variables of the open scopes, waiting for their scope's end pc. */
  private readonly scopes: PendingVariable[][] = [];
  private depth = 0;
  private maxStack = 0;
  /** The procedure being compiled, -1 for the top level: names of the top level are globals inside it. */
  private proc = -1;
  private readonly isConstantName = (name: string): boolean => BUILTIN_CONSTANTS.has(name);

  constructor(
    private readonly checked: CheckResult,
    private readonly fileName: string,
    private readonly includes: IncludeGraph | undefined,
  ) {}

  compile(script: Script): Program {
    this.scopes.push([]);
    for (const stmt of script.statements) {
      this.statement(stmt);
    }
    const haltPc = this.emit(Op.Halt);
    this.closeScope(this.code.length);
    // Procedure bodies after the top level: the top level never runs into them.
    const procs: ProcedureInfo[] = this.checked.procs.map((info, id) => {
      this.proc = id;
      this.file = info.file;
      const entry = this.code.length;
      this.scopes.push([]);
      for (const p of info.paramInfos) this.declare(p, entry);
      this.depth = 0;
      for (const stmt of info.definition.body.statements) this.statement(stmt);
      // Falling off the end returns nothing (0 for the caller when the procedure returns values).
      this.pushValue(0);
      this.emit(Op.Return);
      this.stack(-1);
      this.closeScope(this.code.length);
      return {
        name: info.name,
        entry,
        paramCount: info.params.length,
        slotCount: info.slotCount,
        file: info.file,
        line: info.definition.head.start.line,
      };
    });
    this.proc = -1;
    this.file = 0;
    const files = this.includes ? this.includes.files.map((f) => f.fileName) : [this.fileName];
    const linesByFile = files.map((_, file) =>
      [...new Set(this.statements.filter((s) => s.file === file).map((s) => s.line))].sort((a, b) => a - b),
    );
    this.variables.sort((a, b) => a.depth - b.depth || a.order - b.order);
    return {
      fileName: this.fileName,
      files,
      executableLines: linesByFile[0]!,
      executableLinesByFile: linesByFile,
      name: baseName(this.fileName),
      code: Int32Array.from(this.code),
      constants: this.constants,
      strings: this.strings,
      statements: this.statements,
      sites: this.sites,
      siteFiles: this.siteFiles,
      variables: this.variables,
      slotCount: this.checked.slotCount,
      haltPc,
      maxStack: Math.max(1, this.maxStack),
      procs,
    };
  }

  // ---- emission -----------------------------------------------------------------------------------

  private emit(op: Op, ...operands: number[]): number {
    const at = this.code.length;
    this.code.push(op, ...operands);
    return at;
  }

  private patch(at: number, target: number): void {
    this.code[at] = target;
  }

  private stack(delta: number): void {
    this.depth += delta;
    this.maxStack = Math.max(this.maxStack, this.depth);
  }

  private site(range: Range): number {
    this.sites.push(range);
    this.siteFiles.push(this.file);
    return this.sites.length - 1;
  }

  private pushValue(v: Value): void {
    if (typeof v === 'number' && (v | 0) === v) {
      this.emit(Op.PushInt, v);
    } else {
      const key = `${typeof v}:${String(v)}`;
      let index = this.constantIndex.get(key);
      if (index === undefined) {
        index = this.constants.length;
        this.constants.push(v);
        this.constantIndex.set(key, index);
      }
      this.emit(Op.PushConst, index);
    }
    this.stack(1);
  }

  private binding(node: Parameters<CheckResult['bindings']['get']>[0]): VarInfo {
    const info = this.checked.bindings.get(node);
    if (!info) {
      throw new Error('compile: a name has no binding (was the script checked without errors?)');
    }
    return info;
  }

  /** STORE into the current frame, or STORE_GLOBAL for a top-level variable assigned inside a procedure. */
  private storeOp(info: VarInfo): Op {
    return info.proc !== this.proc ? Op.StoreGlobal : Op.Store;
  }

  private declare(info: VarInfo, visibleFrom: number): void {
    this.scopes[this.scopes.length - 1]!.push({ info, visibleFrom });
  }

  private closeScope(visibleTo: number): void {
    for (const { info, visibleFrom } of this.scopes.pop()!) {
      this.variables.push({
        name: info.name,
        slot: info.slot,
        depth: info.depth,
        order: info.order,
        visibleFrom,
        visibleTo,
        proc: info.proc,
      });
    }
  }

  // ---- statements ---------------------------------------------------------------------------------

  private startStatement(stmt: Stmt): number {
    this.statements.push({ file: this.file, line: stmt.head.start.line, range: stmt.head });
    const id = this.statements.length - 1;
    this.emit(Op.Stmt, id);
    return id;
  }

  private statement(stmt: Stmt): void {
    switch (stmt.kind) {
      case 'machine':
      case 'proc': // compiled after the top level
        return;
      case 'include': {
        const target = this.includes?.targets.get(stmt);
        if (target === undefined) return; // included before: runs once
        const saved = this.file;
        this.file = target;
        for (const st of this.includes!.files[target]!.script.statements) this.statement(st);
        this.file = saved;
        return;
      }
      case 'return':
        this.startStatement(stmt);
        if (stmt.value) this.expr(stmt.value);
        else this.pushValue(0);
        this.emit(Op.Return);
        this.stack(-1);
        return;
      case 'let': {
        this.startStatement(stmt);
        this.expr(stmt.init);
        const info = this.binding(stmt);
        this.emit(this.storeOp(info), info.slot);
        this.stack(-1);
        this.declare(info, this.code.length);
        return;
      }
      case 'assign': {
        this.startStatement(stmt);
        this.expr(stmt.value);
        const info = this.binding(stmt);
        this.emit(this.storeOp(info), info.slot);
        this.stack(-1);
        return;
      }
      case 'expr':
        this.startStatement(stmt);
        if (this.expr(stmt.expr)) {
          this.emit(Op.Pop);
          this.stack(-1);
        }
        return;
      case 'repeat': {
        const id = this.startStatement(stmt);
        const counter = this.loopSlot(stmt);
        this.expr(stmt.count);
        this.emit(Op.RepeatInit, counter, this.site(stmt.count.range));
        this.stack(-1);
        const jump = this.emit(Op.Jmp, -1);
        const body = this.code.length;
        this.block(stmt.body);
        this.emit(Op.Stmt, id);
        this.patch(jump + 1, this.code.length);
        this.emit(Op.RepeatLoop, counter, body);
        return;
      }
      case 'index-assign': {
        this.startStatement(stmt);
        this.expr(stmt.target.list);
        this.expr(stmt.target.index);
        this.expr(stmt.value);
        this.emit(Op.ListSet, this.site(stmt.target.range));
        this.stack(-3);
        return;
      }
      case 'push': {
        this.startStatement(stmt);
        this.expr(stmt.list);
        this.expr(stmt.value);
        this.emit(Op.ListPush, this.site(stmt.head));
        this.stack(-2);
        return;
      }
      case 'for-each': {
        const id = this.startStatement(stmt);
        const slots = this.loopSlot(stmt);
        const variable = this.binding(stmt);
        this.expr(stmt.list);
        this.emit(Op.ForEachInit, slots);
        this.stack(-1);
        const jump = this.emit(Op.Jmp, -1);
        const body = this.code.length;
        this.block(stmt.body, variable);
        this.emit(Op.Stmt, id);
        this.patch(jump + 1, this.code.length);
        this.emit(Op.ForEachLoop, slots, variable.slot, body);
        return;
      }
      case 'for': {
        const id = this.startStatement(stmt);
        const counter = this.loopSlot(stmt);
        const variable = this.binding(stmt);
        this.expr(stmt.from);
        this.expr(stmt.to);
        this.emit(Op.ForInit, counter, this.site(cover(stmt.from.range, stmt.to.range)));
        this.stack(-2);
        const jump = this.emit(Op.Jmp, -1);
        const body = this.code.length;
        this.block(stmt.body, variable);
        this.emit(Op.Stmt, id);
        this.patch(jump + 1, this.code.length);
        this.emit(Op.ForLoop, counter, variable.slot, body);
        return;
      }
      case 'if':
        this.ifStatement(stmt);
        return;
      case 'expect':
        this.startStatement(stmt);
        this.expr(stmt.condition);
        this.emit(Op.Expect, this.site(stmt.condition.range));
        this.stack(-1);
        return;
      case 'print': {
        this.startStatement(stmt);
        let strings = 0;
        stmt.items.forEach((item, i) => {
          if (item.kind === 'string') {
            this.strings.push(item.value);
            this.pushValue(this.strings.length - 1);
            strings |= 1 << i;
          } else {
            this.expr(item);
          }
        });
        this.emit(Op.Print, stmt.items.length, strings, stmt.toLog ? 1 : 0);
        this.stack(-stmt.items.length);
        return;
      }
      case 'on-cpu': {
        // The header runs on the CPU the block was entered from; the body's statements on the one it names.
        this.startStatement(stmt);
        this.expr(stmt.cpu);
        this.emit(Op.CpuEnter, this.site(stmt.cpu.range));
        this.stack(-1);
        this.block(stmt.body);
        this.emit(Op.CpuLeave);
        return;
      }
      case 'on-context': {
        this.startStatement(stmt);
        const ctx = stmt.context === 'irq' ? CONTEXT_IRQ : CONTEXT_SOFTIRQ;
        this.emit(Op.ContextEnter, ctx);
        this.block(stmt.body);
        this.emit(Op.ContextLeave);
        return;
      }
      case 'expect-report': {
        this.startStatement(stmt);
        const kind = REPORT_KINDS.get(stmt.report.name)!;
        this.emit(Op.ExpectBegin, kind);
        this.block(stmt.body);
        this.emit(Op.ExpectEnd, kind, this.site(stmt.head));
        return;
      }
      case 'while': {
        // The header is a statement of its own each round: the debugger stops on `while cond` before every
        // evaluation, as it does on a for header.
        const top = this.code.length;
        this.startStatement(stmt);
        this.expr(stmt.condition);
        const exit = this.emit(Op.JmpIfFalse, -1);
        this.stack(-1);
        this.block(stmt.body);
        this.emit(Op.Jmp, top);
        this.patch(exit + 1, this.code.length);
        return;
      }
    }
  }

  /** if / else if / else: each condition a statement (its header), one jump past the rest per taken branch. */
  private ifStatement(stmt: IfStmt): void {
    const ends: number[] = [];
    for (let branch: IfStmt | undefined = stmt; branch;) {
      this.startStatement(branch);
      this.expr(branch.condition);
      const skip = this.emit(Op.JmpIfFalse, -1);
      this.stack(-1);
      this.block(branch.then);
      const otherwise: Block | IfStmt | undefined = branch.otherwise;
      if (otherwise) ends.push(this.emit(Op.Jmp, -1));
      this.patch(skip + 1, this.code.length);
      if (otherwise && 'kind' in otherwise) {
        branch = otherwise;
      } else {
        if (otherwise) this.block(otherwise);
        branch = undefined;
      }
    }
    for (const end of ends) this.patch(end + 1, this.code.length);
  }

  private loopSlot(stmt: Parameters<CheckResult['loopSlots']['get']>[0]): number {
    const slot = this.checked.loopSlots.get(stmt);
    if (slot === undefined) {
      throw new Error('compile: a loop has no counter slot (was the script checked without errors?)');
    }
    return slot;
  }

  private block(block: Block, loopVariable?: VarInfo): void {
    this.scopes.push([]);
    if (loopVariable) {
      this.declare(loopVariable, this.code.length);
    }
    for (const stmt of block.statements) {
      this.statement(stmt);
    }
    this.closeScope(this.code.length);
  }

  // ---- expressions --------------------------------------------------------------------------------

  /** Emits code leaving the expression's value on the stack; false for a call that returns nothing. */
  private expr(expr: Expr): boolean {
    const constant = expr.kind === 'number' ? expr.value : foldConstant(expr, this.isConstantName);
    if (constant !== undefined) {
      this.pushValue(constant);
      return true;
    }
    switch (expr.kind) {
      case 'name': {
        const info = this.binding(expr);
        this.emit(info.proc !== this.proc ? Op.LoadGlobal : Op.Load, info.slot);
        this.stack(1);
        return true;
      }
      case 'call': {
        const stringParams = BUILTIN_FUNCTIONS.get(expr.callee.name)?.stringParams ?? [];
        const procParams = BUILTIN_FUNCTIONS.get(expr.callee.name)?.procParams ?? [];
        expr.args.forEach((arg, i) => {
          const procRef = procParams.includes(i) ? this.checked.procRefs.get(arg) : undefined;
          if (procRef !== undefined) {
            this.pushValue(procRef); // a callback: the procedure's id
          } else if (stringParams.includes(i) && arg.kind === 'string') {
            // A name parameter: the literal's index in the program's string table.
            this.strings.push(arg.value);
            this.pushValue(this.strings.length - 1);
          } else {
            this.expr(arg);
          }
        });
        const procId = this.checked.procCalls.get(expr);
        if (procId === undefined && expr.callee.name === LIST_LENGTH) {
          this.emit(Op.ListLen);
          return true;
        }
        if (procId !== undefined) {
          // Every call leaves one value (0 from a procedure that returns none); a call statement pops it.
          this.emit(Op.Call, procId, this.site(expr.range));
          this.stack(-expr.args.length + 1);
          return true;
        }
        if (expr.callee.name === 'kmalloc') {
          this.emit(Op.Kmalloc, this.site(expr.range));
          this.stack(-1);
          return true;
        }
        if (expr.callee.name === 'kfree') {
          this.emit(Op.Kfree, this.site(expr.range));
          this.stack(-1);
          return false;
        }
        if (expr.callee.name === 'alloc_pages') {
          this.emit(Op.AllocPages, this.site(expr.range), PagesCall.AllocPages);
          this.stack(-1);
          return true;
        }
        if (expr.callee.name === '__get_free_pages') {
          this.emit(Op.AllocPages, this.site(expr.range), PagesCall.GetFreePages);
          this.stack(-1);
          return true;
        }
        if (expr.callee.name === 'get_zeroed_page') {
          // get_zeroed_page(gfp) is __get_free_pages(gfp | __GFP_ZERO, 0) (mm/page_alloc.c).
          this.emit(Op.AllocPages, this.site(expr.range), PagesCall.GetZeroedPage);
          return true;
        }
        if (expr.callee.name === 'free_pages') {
          this.emit(Op.FreePages, this.site(expr.range));
          this.stack(-2);
          return false;
        }
        {
          const id = GENERIC_BUILTIN_IDS.get(expr.callee.name);
          if (id === undefined) throw new Error(`compile: no opcode for builtin ${expr.callee.name}`);
          const builtin = GENERIC_BUILTINS[id]!;
          this.emit(Op.CallBuiltin, this.site(expr.range), id, expr.args.length);
          this.stack(-expr.args.length + (builtin.returnsValue ? 1 : 0));
          return builtin.returnsValue;
        }
      }
      case 'list':
        for (const item of expr.items) this.expr(item);
        this.emit(Op.ListNew, expr.items.length);
        this.stack(1 - expr.items.length);
        return true;
      case 'index':
        this.expr(expr.list);
        this.expr(expr.index);
        this.emit(Op.ListGet, this.site(expr.range));
        this.stack(-1);
        return true;
      case 'pop':
        this.expr(expr.list);
        this.emit(Op.ListPop, this.site(expr.range));
        return true;
      case 'unary':
        this.expr(expr.operand);
        this.emit(expr.op === '-' ? Op.Neg : expr.op === '!' ? Op.Not : Op.BitNot);
        return true;
      case 'binary': {
        if (expr.op === '&&' || expr.op === '||') {
          this.expr(expr.left);
          const shortJump = this.emit(expr.op === '&&' ? Op.JmpIfFalse : Op.JmpIfTrue, -1);
          this.stack(-1);
          this.expr(expr.right);
          this.emit(Op.Truthy);
          const endJump = this.emit(Op.Jmp, -1);
          this.patch(shortJump + 1, this.code.length);
          this.stack(-1);
          this.pushValue(expr.op === '&&' ? 0 : 1);
          this.patch(endJump + 1, this.code.length);
          return true;
        }
        this.expr(expr.left);
        this.expr(expr.right);
        const op = BINARY_OPS[expr.op]!;
        if (FAILING_OPS.has(op)) {
          this.emit(op, this.site(expr.opRange));
        } else {
          this.emit(op);
        }
        this.stack(-1);
        return true;
      }
      default:
        throw new Error(`compile: unexpected ${expr.kind} expression (was the script checked without errors?)`);
    }
  }
}
