/*
 * A compiled scenario: bytecode plus the tables the VM and the debugger read.
 *
 * Layout: `code` is an Int32Array of instructions, each an opcode (Op, declared in vm.ts next to the
 * dispatch loop) followed by its operands inline (OPCODES gives the count). Values that do not fit an int32 live in `constants`. `statements[s]` is statement s
 * (its 0-based line and the range the debugger highlights); `sites[k]` is the range of a call or operator
 * that can fail or stop mid-statement. `variables` says, for every named variable, its slot and the pc
 * range where it is visible (declared by a statement that has completed, scope still open).
 *
 * Statements: `STMT s` marks where statement s starts; a loop header's STMT appears twice (before the first
 * test, and again at the end of the body), so the header starts again at every iteration, as a `for` line
 * does in other debuggers. Loops:
 *
 *   STMT s; <count>; REPEAT_INIT h site; JMP test      STMT s; <from>; <to>; FOR_INIT h site; JMP test
 *   body: ...                                          body: ...
 *   STMT s                                             STMT s
 *   test: REPEAT_LOOP h body                           test: FOR_LOOP h var body
 *
 * Procedures: their bodies follow the top level's HALT, one after the other. CALL p site pushes a frame (the
 * caller's pc, slot base, statement and procedure) and jumps to procs[p].entry with the arguments in the new
 * frame's first slots; RETURN pops it and leaves one value on the operand stack (0 when the procedure
 * returns none). LOAD and STORE address the current frame's slots (base + slot); LOAD_GLOBAL and
 * STORE_GLOBAL the top level's, from inside a procedure.
 *
 * Files: a scenario with includes compiles to one program. `files[0]` is the scenario's own file; each
 * statement, site and procedure names the file its range is in, so the debugger shows and stops in the
 * included file where its code runs.
 *
 * Every instruction is plain data: the VM's whole state is pc, the operand stack, the slot array and the
 * call frames.
 */

import { Range } from '../lang/diagnostics';
import { fileBaseName } from '../lang/include';
import { Value } from './values';
import { Op, PagesCall } from './vm';

export { Op, PagesCall };

/** Each opcode's name and the number of operands that follow it. */
export const OPCODES: Readonly<Record<Op, { readonly name: string; readonly operands: number }>> = {
  [Op.Stmt]: { name: 'Stmt', operands: 1 },
  [Op.PushInt]: { name: 'PushInt', operands: 1 },
  [Op.PushConst]: { name: 'PushConst', operands: 1 },
  [Op.Load]: { name: 'Load', operands: 1 },
  [Op.Store]: { name: 'Store', operands: 1 },
  [Op.Pop]: { name: 'Pop', operands: 0 },
  [Op.Neg]: { name: 'Neg', operands: 0 },
  [Op.Not]: { name: 'Not', operands: 0 },
  [Op.BitNot]: { name: 'BitNot', operands: 0 },
  [Op.Add]: { name: 'Add', operands: 0 },
  [Op.Sub]: { name: 'Sub', operands: 0 },
  [Op.Mul]: { name: 'Mul', operands: 0 },
  [Op.Div]: { name: 'Div', operands: 1 },
  [Op.Mod]: { name: 'Mod', operands: 1 },
  [Op.Shl]: { name: 'Shl', operands: 1 },
  [Op.Shr]: { name: 'Shr', operands: 1 },
  [Op.BitAnd]: { name: 'BitAnd', operands: 0 },
  [Op.BitOr]: { name: 'BitOr', operands: 0 },
  [Op.BitXor]: { name: 'BitXor', operands: 0 },
  [Op.Eq]: { name: 'Eq', operands: 0 },
  [Op.Ne]: { name: 'Ne', operands: 0 },
  [Op.Lt]: { name: 'Lt', operands: 0 },
  [Op.Le]: { name: 'Le', operands: 0 },
  [Op.Gt]: { name: 'Gt', operands: 0 },
  [Op.Ge]: { name: 'Ge', operands: 0 },
  [Op.Truthy]: { name: 'Truthy', operands: 0 },
  [Op.Jmp]: { name: 'Jmp', operands: 1 },
  [Op.JmpIfFalse]: { name: 'JmpIfFalse', operands: 1 },
  [Op.JmpIfTrue]: { name: 'JmpIfTrue', operands: 1 },
  [Op.Kmalloc]: { name: 'Kmalloc', operands: 1 },
  [Op.Kfree]: { name: 'Kfree', operands: 1 },
  [Op.AllocPages]: { name: 'AllocPages', operands: 2 },
  [Op.FreePages]: { name: 'FreePages', operands: 1 },
  [Op.CallBuiltin]: { name: 'CallBuiltin', operands: 3 },
  [Op.RepeatInit]: { name: 'RepeatInit', operands: 2 },
  [Op.RepeatLoop]: { name: 'RepeatLoop', operands: 2 },
  [Op.ForInit]: { name: 'ForInit', operands: 2 },
  [Op.ForLoop]: { name: 'ForLoop', operands: 3 },
  [Op.Halt]: { name: 'Halt', operands: 0 },
  [Op.LoadGlobal]: { name: 'LoadGlobal', operands: 1 },
  [Op.StoreGlobal]: { name: 'StoreGlobal', operands: 1 },
  [Op.Call]: { name: 'Call', operands: 2 },
  [Op.Return]: { name: 'Return', operands: 0 },
  [Op.Expect]: { name: 'Expect', operands: 1 },
  [Op.ExpectBegin]: { name: 'ExpectBegin', operands: 1 },
  [Op.ExpectEnd]: { name: 'ExpectEnd', operands: 2 },
  [Op.CpuEnter]: { name: 'CpuEnter', operands: 1 },
  [Op.CpuLeave]: { name: 'CpuLeave', operands: 0 },
  [Op.Print]: { name: 'Print', operands: 3 },
  [Op.ContextEnter]: { name: 'ContextEnter', operands: 1 },
  [Op.ContextLeave]: { name: 'ContextLeave', operands: 0 },
  [Op.ListNew]: { name: 'ListNew', operands: 1 },
  [Op.ListPush]: { name: 'ListPush', operands: 1 },
  [Op.ListPop]: { name: 'ListPop', operands: 1 },
  [Op.ListGet]: { name: 'ListGet', operands: 1 },
  [Op.ListSet]: { name: 'ListSet', operands: 1 },
  [Op.ListLen]: { name: 'ListLen', operands: 0 },
  [Op.ForEachInit]: { name: 'ForEachInit', operands: 1 },
  [Op.ForEachLoop]: { name: 'ForEachLoop', operands: 3 },
};

export interface StatementInfo {
  /** The file (index into Program.files) and 0-based line where the statement starts. */
  readonly file: number;
  readonly line: number;
  /** What the debugger highlights: the statement, or a loop's header. */
  readonly range: Range;
}

export interface VariableInfo {
  readonly name: string;
  readonly slot: number;
  /** Scope depth (0 = top level) and declaration order: locals() lists outer scopes first. */
  readonly depth: number;
  readonly order: number;
  /** Visible for pc in [visibleFrom, visibleTo). */
  readonly visibleFrom: number;
  readonly visibleTo: number;
  /** The procedure whose frame holds it (index into Program.procs), -1 for the top level. */
  readonly proc: number;
}

/** A compiled procedure. */
export interface ProcedureInfo {
  readonly name: string;
  /** pc of its first instruction. */
  readonly entry: number;
  readonly paramCount: number;
  /** Slots of one frame (parameters first). */
  readonly slotCount: number;
  /** The file (index into Program.files) and 0-based line of the definition. */
  readonly file: number;
  readonly line: number;
}

export interface Program {
  readonly fileName: string;
  /** The scenario's file, then the files it includes (as the include host named them). */
  readonly files: readonly string[];
  /** 0-based lines where a statement starts, ascending, unique: the only lines a breakpoint can be verified on. */
  readonly executableLines: readonly number[];
  /** executableLines of every file, by index into files (executableLines is [0]). */
  readonly executableLinesByFile: readonly (readonly number[])[];
  /** The top-level frame's name: the file's base name without extension. */
  readonly name: string;
  readonly code: Int32Array;
  readonly constants: readonly Value[];
  /** String literals passed to builtins that take a name (spawn("bash")); a call gets their index. */
  readonly strings: readonly string[];
  readonly statements: readonly StatementInfo[];
  readonly sites: readonly Range[];
  /** The file of each site's range. */
  readonly siteFiles: readonly number[];
  /** Named variables, sorted outer scope first, then declaration order. */
  readonly variables: readonly VariableInfo[];
  /** Slots of the top-level frame. */
  readonly slotCount: number;
  /** pc of the top level's HALT: where a procedure the VM calls from a builtin (a constructor) returns to. */
  readonly haltPc: number;
  readonly maxStack: number;
  readonly procs: readonly ProcedureInfo[];
}

/** The first executable line at or after `line` (where a breakpoint set on `line` is verified), if any. */
export function executableLineAtOrAfter(program: Program, line: number): number | undefined {
  const lines = program.executableLines;
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid]! < line) lo = mid + 1;
    else hi = mid;
  }
  return lines[lo];
}

/** The file's base name without its extension: "examples/slab-growth.kmem" -> "slab-growth". */
export function baseName(fileName: string): string {
  const base = fileBaseName(fileName);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** A readable listing of the bytecode, for tests and for looking at what the compiler made. */
export function disassemble(program: Program): string {
  const out: string[] = [];
  const code = program.code;
  for (let pc = 0; pc < code.length;) {
    const op = code[pc]! as Op;
    const n = OPCODES[op].operands;
    const args = Array.from(code.subarray(pc + 1, pc + 1 + n));
    let note = '';
    if (op === Op.Stmt) note = `  ; line ${program.statements[args[0]!]!.line + 1}`;
    if (op === Op.PushConst) note = `  ; ${String(program.constants[args[0]!])}`;
    out.push(`${String(pc).padStart(4)} ${OPCODES[op].name}${args.length ? ' ' + args.join(' ') : ''}${note}`);
    pc += 1 + n;
  }
  return out.join('\n');
}
