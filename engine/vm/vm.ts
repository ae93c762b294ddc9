/*
 * The VM: runs a Program's bytecode against a Machine, one bounded slice per run() call.
 *
 * State (plain data, see saveState): pc, the operand stack (sp), the slot array of variables and loop
 * counters, the statement it stands at, the status, and counters. No JS recursion: run() is one loop over
 * a switch. Builtins call the machine directly; pointers cross as bigint kernel virtual addresses.
 *
 * Stops (Stop.reason):
 *   breakpoint/step  checked at STMT, before the statement starts; the VM then "stands at" that statement,
 *                    and the next run() starts it without asking again (so "continue" moves on).
 *   budget           checked at STMT after those two, once maxInstructions were spent in this run(): so a
 *                    budget stop never hides a breakpoint or step stop, and a step of 1 never sees one. The
 *                    statement has not started; the next run() offers it to breakAtLine again. Statements
 *                    are bounded (no loops inside one): a run overshoots its budget by at most one statement.
 *   event            after a builtin that appended events, when stopOnEvent picks one: mid-statement; the
 *                    next run() resumes right after that instruction.
 *   end / error      status 'done' / 'error'; further run() calls return the same at once.
 * Before each statement machine.line = its 1-based line and machine.cpu = the CPU it runs on (0, or the one
 * the innermost `on cpu` block names), so events carry them.
 *
 * Before the first run() the VM stands at the first statement, so breakAtLine is not asked for it unless
 * RunOptions.askCurrent is set (a launch without stopOnEntry sets it on its first run()).
 */

import { Range } from '../lang/diagnostics';
import { KMALLOC_FAILED, KMALLOC_ZERO, Machine } from '../mm/machine';
import { MAX_PAGE_ORDER } from '../mm/config';
import { __GFP_HIGHMEM, __GFP_ZERO } from '../mm/gfp';
import { PointerCache } from './pointers';
import { ALL_GENERIC_BUILTINS as GENERIC_BUILTINS, BuiltinHost, isCallFailure } from './calls';
import type { Program } from './program';
import { EVENT_KIND_NAMES, EventKind } from '../trace/events';
import {
  Value,
  add,
  bitAnd,
  bitNot,
  bitOr,
  bitXor,
  div,
  isTruthy,
  mod,
  mul,
  neg,
  shl,
  shr,
  sub,
  valueEquals,
  valueKind,
  formatValue as formatValueImpl,
  Cell,
  LIST_MAX_ITEMS,
  ValueList,
  formatCell,
  isList,
} from './values';

export type { Value } from './values';

/**
 * Opcodes (the bytecode layout is described in program.ts). A const enum declared here, in the file of the
 * dispatch loop, so every `case Op.X` compiles to an integer literal and the switch to a jump table.
 */
export const enum Op {
  /** statement: a statement starts (breakpoints, steps, budget are checked here). */
  Stmt,
  /** value: push an int32 immediate. */
  PushInt,
  /** index: push constants[index]. */
  PushConst,
  /** slot: push slots[base + slot] (the current frame's). */
  Load,
  /** slot: pop into slots[base + slot]. */
  Store,
  Pop,
  Neg,
  Not,
  BitNot,
  Add,
  Sub,
  Mul,
  /** site: can fail (division by zero). */
  Div,
  /** site */
  Mod,
  /** site: can fail (shift count). */
  Shl,
  /** site */
  Shr,
  BitAnd,
  BitOr,
  BitXor,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  /** Replace the top with 1 if it is non-zero, else 0. */
  Truthy,
  /** target */
  Jmp,
  /** target: pop; jump if zero. */
  JmpIfFalse,
  /** target: pop; jump if non-zero. */
  JmpIfTrue,
  /** site: pop gfp, size; push the pointer. */
  Kmalloc,
  /** site: pop the pointer. */
  Kfree,
  /** slot site: pop the count into slots[slot]. */
  RepeatInit,
  /** slot target: if slots[slot] > 0, decrement it and jump to target. */
  RepeatLoop,
  /** slot site: pop end, start into slots[slot], slots[slot + 1]. */
  ForInit,
  /** slot var target: if slots[slot] < slots[slot + 1], var = slots[slot]++, jump to target. */
  ForLoop,
  Halt,
  /** site call: pop the two arguments (order, gfp; or gfp, order for __get_free_pages) or gfp; push the pointer. */
  AllocPages,
  /** site: pop order, the pointer. */
  FreePages,
  /** site id argc: pop argc arguments, run GENERIC_BUILTINS[id] (calls.ts), push its value if it returns one. */
  CallBuiltin,
  /** slot: push slots[slot] (a top-level variable, from inside a procedure). */
  LoadGlobal,
  /** slot: pop into slots[slot]. */
  StoreGlobal,
  /** proc site: pop the arguments into a new frame, jump to procs[proc].entry (see program.ts). */
  Call,
  /** pop the value, drop the frame, push the value for the caller. */
  Return,
  /** site: pop; 0 stops the scenario with KM5001 (expect cond). */
  Expect,
  /** kind: an `expect KIND { }` block starts; the reports of that kind so far are noted. */
  ExpectBegin,
  /** kind site: the block ends; it must have made a report of the kind (KM5002), which is then expected. */
  ExpectEnd,
  /** site: pop the CPU; the statements until CPU_LEAVE run on it (KM4109 when the machine has no such CPU). */
  CpuEnter,
  /** The `on cpu` block ends: back to the CPU it was entered from. */
  CpuLeave,
  /** n strings log: pop n items (bit i of strings: item i is a string-table index) and print or log them. */
  Print,
  /** context: an `on irq` (CONTEXT_IRQ) or `on softirq` (CONTEXT_SOFTIRQ) block starts. */
  ContextEnter,
  /** The innermost `on irq` / `on softirq` block ends: irq_exit(). */
  ContextLeave,
  /** n: pop n items; push a new list of them. */
  ListNew,
  /** site: pop the value, the list; append (KM4131 past LIST_MAX_ITEMS). */
  ListPush,
  /** site: pop the list; remove its last item and push it (KM4129 when empty). */
  ListPop,
  /** site: pop the index, the list; push the item (KM4130 outside 0..len-1). */
  ListGet,
  /** site: pop the value, the index, the list; replace the item (KM4130). */
  ListSet,
  /** pop the list; push its length. */
  ListLen,
  /** slot: pop the list into slots[slot]; slots[slot + 1] = 0 (the next index). */
  ForEachInit,
  /** slot var target: if slots[slot + 1] < the list's length, var = its item there, the index + 1, jump to target. */
  ForEachLoop,
}

/** ContextEnter's operand. */
export const CONTEXT_IRQ = 0;
export const CONTEXT_SOFTIRQ = 1;

/** Which builtin an AllocPages instruction is: the arguments it pops and the name its errors use. */
export const enum PagesCall {
  /** alloc_pages(order, gfp) */
  AllocPages = 0,
  /** __get_free_pages(gfp, order): gfp & ~__GFP_HIGHMEM */
  GetFreePages = 1,
  /** get_zeroed_page(gfp): __get_free_pages(gfp | __GFP_ZERO, 0) */
  GetZeroedPage = 2,
}

const PAGES_CALL_NAMES = ['alloc_pages', '__get_free_pages', 'get_zeroed_page'];

export interface RuntimeError {
  code: string;
  message: string;
  range: Range;
  /** The included file the range is in (Program.files); absent: the scenario's own file. */
  file?: string;
  /** The kernel's whole report when there is one (free_pages: "BUG: Bad page state ..."); message is its first line. */
  report?: string;
}

export type StopReason = 'step' | 'breakpoint' | 'event' | 'end' | 'error' | 'budget';

export interface Stop {
  reason: StopReason;
  /** 0-based line of the statement the VM stands at. */
  line: number;
  /** Its file (Program.files) on a breakpoint stop in an included file; absent: the scenario's own. */
  file?: number;
  eventSeq?: number;
  error?: RuntimeError;
}

export interface RunOptions {
  /** Budget; when spent return reason 'budget' (host yields to its event loop, then calls run again). */
  maxInstructions: number;
  /** Asked when a statement is about to start; not for the statement the VM stands at when run() is called. */
  breakAtLine?: (line: number, file: number) => boolean;
  /** Asked after a builtin appended events [firstSeq, endSeq); the seq returned stops the VM after that instruction. */
  stopOnEvent?: (firstSeq: number, endSeq: number) => number | undefined;
  /**
   * Stop with reason 'step' once this many new statements have started (1 = "next"). Counted per run():
   * after a 'budget' stop with a count above 1, pass what is left (see statementsExecuted).
   */
  stepStatements?: number;
  /**
   * With stepStatements: count only statements that start with at most this many procedure calls active
   * (callDepth). "Step over" passes the current depth, "step out" one less; absent, every statement counts
   * ("step in").
   */
  stepDepth?: number;
  /**
   * Also ask breakAtLine for the statement the VM stands at when run() is called. A host launching without
   * stopOnEntry passes it on its first run(), so a breakpoint on the first statement stops there.
   */
  askCurrent?: boolean;
}

export interface FrameView {
  name: string;
  /** The file the frame stands in (a name from Program.files). */
  file: string;
  line: number;
  character: number;
  endLine: number;
  endCharacter: number;
}

export interface VariableView {
  name: string;
  value: Cell;
  kind: 'int' | 'ptr' | 'list';
}

/** A procedure call in progress: what RETURN restores in the caller. */
export interface CallFrame {
  /** The caller's procedure, -1 for the top level. */
  readonly proc: number;
  readonly returnPc: number;
  readonly base: number;
  /** The caller's statement (the one holding the call). */
  readonly statement: number;
  /** The call's site, for the caller's frame in the call stack. */
  readonly site: number;
  /** Open `on cpu` blocks at the call: a return from inside one closes what the callee opened. */
  readonly cpus: number;
  /** Open `on irq` / `on softirq` blocks at the call, likewise. */
  readonly contexts: number;
}

/** Calls that may be active at once; one more is runtime error KM4108. */
export const MAX_CALL_DEPTH = 10_000;
/** Callbacks (constructors) that may be active inside builtins at once. */
const NESTED_MAX = 8;
/** Instructions one callback may run. */
const NESTED_MAX_INSTRUCTIONS = 100_000_000;

export interface VmOptions {
  /** Starting more statements than this is runtime error KM4100 (a runaway scenario). Default: no limit. */
  statementLimit?: number;
}

/** Everything the VM needs to resume: plain data, for checkpoints. */
export interface VmState {
  readonly pc: number;
  readonly stack: readonly Value[];
  readonly slots: readonly Value[];
  readonly status: 'paused' | 'done' | 'error';
  readonly statement: number;
  readonly standing: boolean;
  readonly stopSite: number;
  readonly error?: RuntimeError;
  readonly statementsExecuted: number;
  readonly instructionsExecuted: number;
  readonly base: number;
  readonly proc: number;
  readonly callFrames: readonly CallFrame[];
  readonly expectStarts: readonly number[];
  readonly expected: readonly number[];
  readonly cpus: readonly number[];
  readonly contexts?: readonly number[];
}

// Imported values copied once into this module, so the dispatch loop reads plain constants.
const NULL = 0n;
const ZERO_SIZE_PTR = 16n;
const KMALLOC_ZERO_RESULT: number = KMALLOC_ZERO;
const GFP_MAX = 0xffffffff;

/** A value, or a list as `[a, b, c]`. */
export function formatValue(v: Cell): string {
  return formatCell(v);
}

export class Vm {
  readonly machine: Machine;
  /** See VmOptions.statementLimit. */
  statementLimit: number;
  private readonly program: Program;
  private readonly lines: Int32Array;
  /** The file of each statement (Program.files), next to lines. */
  private readonly lineFiles: Int32Array;
  private readonly stack: Value[];
  private readonly slots: Value[];
  private pc = 0;
  private sp = 0;
  /** The current frame's first slot, and its procedure (-1: the top level). */
  private base = 0;
  private proc = -1;
  private readonly callFrames: CallFrame[] = [];
  /** The CPUs of the open `on cpu` blocks, innermost last. */
  private readonly cpus: number[] = [];
  /** The open `on irq` / `on softirq` blocks (CONTEXT_*), innermost last: the machine's context follows them. */
  private readonly contexts: number[] = [];
  /** Report counts where the open `expect KIND { }` blocks started, innermost last. */
  private readonly expectStarts: number[] = [];
  /** Reports that expect blocks expected, by event kind. */
  private readonly expected: number[] = [];
  /** The operand stack depth a builtin's callback must stay above (set before each generic builtin). */
  private liveSp = 0;
  /** A callback's runtime error, reported as the builtin's. */
  private nestedFailure: RuntimeError | undefined;
  /** Callbacks active inside builtins (a constructor whose allocation makes a slab calls another). */
  private nested = 0;
  private readonly host: BuiltinHost = {
    callProcedure: (proc, args) => this.callProcedure(proc, args),
    procedureName: (proc) => this.program.procs[proc]?.name ?? '?',
    liveValues: () => this.liveValues(),
  };
  /** The frame registers while a builtin runs (run() keeps them in locals). */
  private liveBase = 0;
  private liveProc = -1;
  private _status: 'paused' | 'done' | 'error' = 'paused';
  /** The statement the VM stands at or is inside; -1 when the program has none. */
  private statement: number;
  /** pc is at a STMT already reported as the current position (the next run() does not ask for it). */
  private standing = true;
  /** The site of the instruction an 'event' stop happened after, or -1. */
  private stopSite = -1;
  private _error: RuntimeError | undefined;
  private _statementsExecuted = 0;
  private _instructionsExecuted = 0;
  private readonly pointers: PointerCache;

  constructor(program: Program, machine: Machine, options: VmOptions = {}) {
    this.program = program;
    this.machine = machine;
    this.pointers = new PointerCache(machine.arch.pageOffset, machine.arch.physBase);
    this.statementLimit = options.statementLimit ?? Infinity;
    this.lines = Int32Array.from(program.statements, (s) => s.line);
    this.lineFiles = Int32Array.from(program.statements, (s) => s.file);
    machine.sourceFiles = program.files;
    this.stack = new Array<Value>(program.maxStack).fill(0);
    this.slots = new Array<Value>(program.slotCount).fill(0);
    this.statement = program.code[0] === Op.Stmt ? program.code[1]! : -1;
  }

  get status(): 'paused' | 'done' | 'error' {
    return this._status;
  }

  get statementsExecuted(): number {
    return this._statementsExecuted;
  }

  get instructionsExecuted(): number {
    return this._instructionsExecuted;
  }

  get error(): RuntimeError | undefined {
    return this._error;
  }

  /**
   * Runs procedure `proc` to its end from inside a builtin (a slab constructor, which SLUB calls while it makes a
   * slab): a frame above everything the interrupted run() holds, no stops, at most NESTED_MAX_INSTRUCTIONS;
   * the VM's registers come back as they were. An error is kept for the builtin's instruction to report.
   */
  /** Closes the `on irq` / `on softirq` blocks above depth `keep` (irq_exit() of each). */
  private leaveContexts(keep: number): void {
    while (this.contexts.length > keep) {
      if (this.contexts.pop() === CONTEXT_IRQ) this.machine.context.irqExit();
      else this.machine.context.softirqExit();
    }
  }

  /** Every active frame's slots and the live operands, as of the builtin in progress (or the end); lists' items. */
  private liveValues(): Value[] {
    const size = this.liveProc < 0 ? this.program.slotCount : (this.program.procs[this.liveProc]?.slotCount ?? 0);
    const out: Value[] = [];
    const cells = [...this.slots.slice(0, this.liveBase + size), ...this.stack.slice(0, this.liveSp)] as Cell[];
    for (const c of cells) {
      if (isList(c)) for (const v of c.items) out.push(v);
      else out.push(c);
    }
    return out;
  }

  private callProcedure(proc: number, args: readonly Value[]): void {
    if (this.nestedFailure !== undefined) return;
    const callee = this.program.procs[proc];
    if (!callee || args.length !== callee.paramCount) return;
    if (this.nested >= NESTED_MAX) {
      this.nestedFailure = {
        code: 'KM4108',
        message: `${callee.name}: callbacks nested ${NESTED_MAX} deep (a constructor whose allocations need more constructors?)`,
        ...this.statementPlace(),
      };
      return;
    }
    const saved = {
      pc: this.pc,
      sp: this.sp,
      base: this.base,
      proc: this.proc,
      statement: this.statement,
      standing: this.standing,
      stopSite: this.stopSite,
      status: this._status,
      error: this._error,
      frames: this.callFrames.length,
      cpus: this.cpus.length,
      contexts: this.contexts.length,
      line: this.machine.line,
      file: this.machine.file,
      cpu: this.machine.cpu,
    };
    const base = this.slots.length;
    for (let i = 0; i < callee.slotCount; i++) this.slots.push(i < args.length ? args[i]! : 0);
    this.callFrames.push({
      proc: saved.proc,
      returnPc: this.program.haltPc,
      base: saved.base,
      statement: saved.statement,
      site: -1,
      cpus: this.cpus.length,
      contexts: this.contexts.length,
    });
    this.pc = callee.entry;
    this.sp = this.liveSp;
    this.base = base;
    this.proc = proc;
    this.standing = false;
    this.nested++;
    try {
      let spent = 0;
      let stop = this.run({ maxInstructions: 1_000_000 });
      while (stop.reason === 'budget' && (spent += 1_000_000) < NESTED_MAX_INSTRUCTIONS) {
        stop = this.run({ maxInstructions: 1_000_000 });
      }
      if (stop.reason === 'error' && this._error) this.nestedFailure = this._error;
      else if (stop.reason === 'budget') {
        this.nestedFailure = {
          code: 'KM4100',
          message: `${callee.name} ran more than ${NESTED_MAX_INSTRUCTIONS} instructions inside one allocation`,
          ...this.statementPlace(),
        };
      }
    } finally {
      this.nested--;
      this.callFrames.length = saved.frames;
      this.cpus.length = saved.cpus;
      this.leaveContexts(saved.contexts);
      this.slots.length = base;
      this.pc = saved.pc;
      this.sp = saved.sp;
      this.base = saved.base;
      this.proc = saved.proc;
      this.statement = saved.statement;
      this.standing = saved.standing;
      this.stopSite = saved.stopSite;
      this._status = saved.status;
      this._error = saved.error;
      this.machine.line = saved.line;
      this.machine.file = saved.file;
      this.machine.cpu = saved.cpu;
    }
  }

  /** Reports of this kind that `expect KIND { }` blocks expected (kmem run does not count them as findings). */
  expectedReports(kind: EventKind): number {
    return this.expected[kind] ?? 0;
  }

  /** Procedure calls active now (0 at the top level). */
  get callDepth(): number {
    return this.callFrames.length;
  }

  currentLine(): number {
    return this.statement >= 0 ? this.lines[this.statement]! : 0;
  }

  run(options: RunOptions): Stop {
    if (this._status === 'done') {
      return { reason: 'end', line: this.currentLine() };
    }
    if (this._status === 'error') {
      return { reason: 'error', line: this.currentLine(), error: this._error };
    }
    const code = this.program.code;
    const constants = this.program.constants;
    const lines = this.lines;
    const stack = this.stack;
    const slots = this.slots;
    const machine = this.machine;
    const events = machine.events;
    // The direct map: RAM starts at PAGE_OFFSET; the region the architecture reserves for it ends at DIRECT_MAP_END.
    const DIRECT_MAP_START = machine.arch.pageOffset;
    const DIRECT_MAP_END = DIRECT_MAP_START + machine.arch.directMapSize;
    const memoryEnd = DIRECT_MAP_START + BigInt(machine.config.memoryBytes);
    const pointers = this.pointers;
    const breakAt = options.breakAtLine;
    const lineFiles = this.lineFiles;
    const onEvent = options.stopOnEvent;
    const stepTarget = options.stepStatements !== undefined && options.stepStatements > 0 ? options.stepStatements : 0;
    const budget = options.maxInstructions >= 1 ? options.maxInstructions : 1;
    const limit = this.statementLimit;
    const askCurrent = options.askCurrent === true;
    const stepDepth = options.stepDepth ?? Infinity;
    const callFrames = this.callFrames;
    const procs = this.program.procs;

    let pc = this.pc;
    let base = this.base;
    let proc = this.proc;
    let sp = this.sp;
    let statement = this.statement;
    let executed = 0;
    let started = 0;
    let statements = this._statementsExecuted;
    let skip = this.standing && code[pc] === Op.Stmt;
    let stop: Stop | undefined;
    let failure: { code: string; message: string; site: number; report?: string } | undefined;
    this.stopSite = -1;
    this.standing = false;

    loop: for (;;) {
      switch (code[pc]) {
        case Op.Stmt: {
          const s = code[pc + 1]!;
          if (skip) {
            skip = false;
            if (askCurrent && breakAt !== undefined && breakAt(lines[s]!, lineFiles[s]!)) {
              this.standing = true;
              stop = breakpointStop(lines[s]!, lineFiles[s]!);
              break loop;
            }
          } else {
            if (breakAt !== undefined && breakAt(lines[s]!, lineFiles[s]!)) {
              statement = s;
              this.standing = true;
              stop = breakpointStop(lines[s]!, lineFiles[s]!);
              break loop;
            }
            if (stepTarget > 0 && callFrames.length <= stepDepth && ++started >= stepTarget) {
              statement = s;
              this.standing = true;
              stop = { reason: 'step', line: lines[s]! };
              break loop;
            }
            if (executed >= budget) {
              statement = s;
              stop = { reason: 'budget', line: lines[s]! };
              break loop;
            }
          }
          statement = s;
          if (statements >= limit) {
            const r = this.program.statements[s]!.range;
            this.fail({ code: 'KM4100', message: `statement limit reached: ${limit} statements ran`, range: r });
            stop = { reason: 'error', line: lines[s]!, error: this._error };
            break loop;
          }
          statements++;
          machine.line = lines[s]! + 1;
          machine.file = lineFiles[s]!;
          machine.cpu = this.cpus.length > 0 ? this.cpus[this.cpus.length - 1]! : 0;
          pc += 2;
          executed++;
          continue;
        }
        case Op.PushInt:
          stack[sp++] = code[pc + 1]!;
          pc += 2;
          break;
        case Op.PushConst:
          stack[sp++] = constants[code[pc + 1]!]!;
          pc += 2;
          break;
        case Op.Load:
          stack[sp++] = slots[base + code[pc + 1]!]!;
          pc += 2;
          break;
        case Op.Store:
          slots[base + code[pc + 1]!] = stack[--sp]!;
          pc += 2;
          break;
        case Op.LoadGlobal:
          stack[sp++] = slots[code[pc + 1]!]!;
          pc += 2;
          break;
        case Op.StoreGlobal:
          slots[code[pc + 1]!] = stack[--sp]!;
          pc += 2;
          break;
        case Op.Call: {
          const callee = procs[code[pc + 1]!]!;
          if (callFrames.length >= MAX_CALL_DEPTH) {
            failure = {
              code: 'KM4108',
              message: `${callee.name}: more than ${MAX_CALL_DEPTH} procedure calls active at once (a recursion that does not end?)`,
              site: code[pc + 2]!,
            };
            break loop;
          }
          const frameSize = proc < 0 ? this.program.slotCount : procs[proc]!.slotCount;
          const newBase = base + frameSize;
          const end = newBase + callee.slotCount;
          while (slots.length < end) slots.push(0);
          slots.fill(0, newBase, end);
          sp -= callee.paramCount;
          for (let i = 0; i < callee.paramCount; i++) slots[newBase + i] = stack[sp + i]!;
          callFrames.push({
            proc,
            returnPc: pc + 3,
            base,
            statement,
            site: code[pc + 2]!,
            cpus: this.cpus.length,
            contexts: this.contexts.length,
          });
          base = newBase;
          proc = code[pc + 1]!;
          pc = callee.entry;
          break;
        }
        case Op.Expect:
          if (!isTruthy(stack[--sp]!)) {
            failure = { code: 'KM5001', message: 'expectation failed: the condition is 0', site: code[pc + 1]! };
            break loop;
          }
          pc += 2;
          break;
        case Op.CpuEnter: {
          const cpu = stack[--sp]!;
          if (typeof cpu !== 'number' || !Number.isInteger(cpu) || cpu < 0 || cpu >= machine.config.cpus) {
            failure = {
              code: 'KM4109',
              message: `no CPU ${formatValueImpl(cpu)}: the machine has CPUs 0..${machine.config.cpus - 1}`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          this.cpus.push(cpu);
          pc += 2;
          break;
        }
        case Op.Print: {
          const n = code[pc + 1]!;
          const strings = code[pc + 2]!;
          sp -= n;
          const parts: string[] = [];
          for (let i = 0; i < n; i++) {
            const v = stack[sp + i]!;
            parts.push(strings & (1 << i) ? (this.program.strings[v as number] ?? '') : formatCell(v));
          }
          if (code[pc + 3]) machine.printk(`${parts.join(' ')}\n`);
          else machine.printOutput(`${parts.join(' ')}\n`);
          pc += 4;
          break;
        }
        case Op.CpuLeave:
          this.cpus.pop();
          pc += 1;
          break;
        case Op.ContextEnter:
          this.contexts.push(code[pc + 1]!);
          if (code[pc + 1] === CONTEXT_IRQ) machine.context.irqEnter();
          else machine.context.softirqEnter();
          pc += 2;
          break;
        case Op.ContextLeave:
          this.leaveContexts(this.contexts.length - 1);
          pc += 1;
          break;
        case Op.ExpectBegin:
          this.expectStarts.push(machine.reportCount(code[pc + 1]! as EventKind));
          pc += 2;
          break;
        case Op.ExpectEnd: {
          const kind = code[pc + 1]! as EventKind;
          const made = machine.reportCount(kind) - (this.expectStarts.pop() ?? 0);
          if (made <= 0) {
            failure = {
              code: 'KM5002',
              message: `expected a ${EVENT_KIND_NAMES[kind]} report from this block; none came`,
              site: code[pc + 2]!,
            };
            break loop;
          }
          this.expected[kind] = (this.expected[kind] ?? 0) + made;
          pc += 3;
          break;
        }
        case Op.Return: {
          const frame = callFrames.pop()!;
          this.cpus.length = frame.cpus;
          this.leaveContexts(frame.contexts);
          pc = frame.returnPc;
          base = frame.base;
          proc = frame.proc;
          statement = frame.statement;
          break;
        }
        case Op.Pop:
          sp--;
          pc++;
          break;
        case Op.Neg:
          stack[sp - 1] = neg(stack[sp - 1]!);
          pc++;
          break;
        case Op.Not:
          stack[sp - 1] = isTruthy(stack[sp - 1]!) ? 0 : 1;
          pc++;
          break;
        case Op.BitNot:
          stack[sp - 1] = bitNot(stack[sp - 1]!);
          pc++;
          break;
        case Op.Add: {
          const b = stack[--sp]!;
          const a = stack[sp - 1]!;
          if (typeof a === 'number' && typeof b === 'number') {
            const r = a + b;
            if (r <= Number.MAX_SAFE_INTEGER && r >= -Number.MAX_SAFE_INTEGER) {
              stack[sp - 1] = r;
              pc++;
              break;
            }
          }
          stack[sp - 1] = add(a, b);
          pc++;
          break;
        }
        case Op.Sub: {
          const b = stack[--sp]!;
          stack[sp - 1] = sub(stack[sp - 1]!, b);
          pc++;
          break;
        }
        case Op.Mul: {
          const b = stack[--sp]!;
          stack[sp - 1] = mul(stack[sp - 1]!, b);
          pc++;
          break;
        }
        case Op.Div:
        case Op.Mod: {
          const b = stack[--sp]!;
          const r = code[pc] === Op.Div ? div(stack[sp - 1]!, b) : mod(stack[sp - 1]!, b);
          if (r === undefined) {
            failure = {
              code: 'KM4103',
              message: `${code[pc] === Op.Div ? 'division' : 'remainder'} by zero`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          stack[sp - 1] = r;
          pc += 2;
          break;
        }
        case Op.Shl:
        case Op.Shr: {
          const b = stack[--sp]!;
          const r = code[pc] === Op.Shl ? shl(stack[sp - 1]!, b) : shr(stack[sp - 1]!, b);
          if (r === undefined) {
            failure = {
              code: 'KM4104',
              message: `shift count ${formatValueImpl(b)} is outside 0..63`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          stack[sp - 1] = r;
          pc += 2;
          break;
        }
        case Op.BitAnd: {
          const b = stack[--sp]!;
          stack[sp - 1] = bitAnd(stack[sp - 1]!, b);
          pc++;
          break;
        }
        case Op.BitOr: {
          const b = stack[--sp]!;
          stack[sp - 1] = bitOr(stack[sp - 1]!, b);
          pc++;
          break;
        }
        case Op.BitXor: {
          const b = stack[--sp]!;
          stack[sp - 1] = bitXor(stack[sp - 1]!, b);
          pc++;
          break;
        }
        case Op.Eq:
        case Op.Ne: {
          const b = stack[--sp]!;
          const a = stack[sp - 1]!;
          const equal = a === b || (typeof a !== typeof b && valueEquals(a, b));
          stack[sp - 1] = equal === (code[pc] === Op.Eq) ? 1 : 0;
          pc++;
          break;
        }
        case Op.Lt: {
          const b = stack[--sp]!;
          stack[sp - 1] = stack[sp - 1]! < b ? 1 : 0;
          pc++;
          break;
        }
        case Op.Le: {
          const b = stack[--sp]!;
          stack[sp - 1] = stack[sp - 1]! <= b ? 1 : 0;
          pc++;
          break;
        }
        case Op.Gt: {
          const b = stack[--sp]!;
          stack[sp - 1] = stack[sp - 1]! > b ? 1 : 0;
          pc++;
          break;
        }
        case Op.Ge: {
          const b = stack[--sp]!;
          stack[sp - 1] = stack[sp - 1]! >= b ? 1 : 0;
          pc++;
          break;
        }
        case Op.Truthy:
          stack[sp - 1] = isTruthy(stack[sp - 1]!) ? 1 : 0;
          pc++;
          break;
        case Op.Jmp:
          pc = code[pc + 1]!;
          break;
        case Op.JmpIfFalse:
          pc = isTruthy(stack[--sp]!) ? pc + 2 : code[pc + 1]!;
          break;
        case Op.JmpIfTrue:
          pc = isTruthy(stack[--sp]!) ? code[pc + 1]! : pc + 2;
          break;
        case Op.Kmalloc: {
          const gfp = stack[--sp]!;
          const size = stack[sp - 1]!;
          if (typeof size !== 'number' || size < 0) {
            failure = {
              code: 'KM4101',
              message: `kmalloc size must be a byte count from 0 up, not ${formatValueImpl(size)}`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          if (typeof gfp !== 'number' || gfp < 0 || gfp > GFP_MAX) {
            failure = {
              code: 'KM4106',
              message: `kmalloc gfp must be a mask of GFP flags (like GFP_KERNEL), not ${formatValueImpl(gfp)}`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          const first = events.length;
          const phys = machine.kmalloc(size, gfp);
          if (machine.panic !== undefined) {
            failure = { ...machine.panic, site: code[pc + 1]! };
            break loop;
          }
          stack[sp - 1] =
            phys >= 0 ? pointers.toPointer(phys) : phys === KMALLOC_ZERO_RESULT ? ZERO_SIZE_PTR : nullFor(phys);
          pc += 2;
          executed++;
          if (onEvent !== undefined && events.length > first) {
            const seq = onEvent(first, events.length);
            if (seq !== undefined) {
              this.stopSite = code[pc - 1]!;
              stop = { reason: 'event', line: lines[statement]!, eventSeq: seq };
              break loop;
            }
          }
          continue;
        }
        case Op.Kfree: {
          const ptr = stack[--sp]!;
          if (ptr === NULL || ptr === ZERO_SIZE_PTR || ptr === 0 || ptr === 16) {
            pc += 2;
            break;
          }
          // virtToPhys(ptr, memoryBytes), inlined: a direct-map address inside memory.
          if (typeof ptr !== 'bigint' || ptr < DIRECT_MAP_START || ptr >= memoryEnd) {
            const inDirectMap = typeof ptr === 'bigint' && ptr >= DIRECT_MAP_START && ptr < DIRECT_MAP_END;
            failure = inDirectMap
              ? { code: 'KM4001', message: `kfree of ${formatValueImpl(ptr)}, outside memory`, site: code[pc + 1]! }
              : {
                  code: 'KM4102',
                  message: `kfree of ${formatValueImpl(ptr)}, which is not a kernel address kmalloc could return`,
                  site: code[pc + 1]!,
                };
            break loop;
          }
          const first = events.length;
          const bad = machine.kfree(pointers.toPhys(ptr));
          if (bad) {
            failure = { code: bad.code, message: bad.message, site: code[pc + 1]! };
            break loop;
          }
          pc += 2;
          executed++;
          if (onEvent !== undefined && events.length > first) {
            const seq = onEvent(first, events.length);
            if (seq !== undefined) {
              this.stopSite = code[pc - 1]!;
              stop = { reason: 'event', line: lines[statement]!, eventSeq: seq };
              break loop;
            }
          }
          continue;
        }
        case Op.AllocPages: {
          const call = code[pc + 2]! as PagesCall;
          const name = PAGES_CALL_NAMES[call]!;
          let order: Value;
          let gfp: Value;
          if (call === PagesCall.AllocPages) {
            gfp = stack[--sp]!;
            order = stack[sp - 1]!;
          } else if (call === PagesCall.GetFreePages) {
            order = stack[--sp]!;
            gfp = stack[sp - 1]!;
          } else {
            order = 0;
            gfp = stack[sp - 1]!;
          }
          if (typeof order !== 'number' || order < 0) {
            failure = {
              code: 'KM4107',
              message: `${name} order must be a page order from 0 up (0..${MAX_PAGE_ORDER} can be met), not ${formatValueImpl(order)}`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          if (typeof gfp !== 'number' || gfp < 0 || gfp > GFP_MAX) {
            failure = {
              code: 'KM4106',
              message: `${name} gfp must be a mask of GFP flags (like GFP_KERNEL), not ${formatValueImpl(gfp)}`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          let mask = gfp;
          if (call !== PagesCall.AllocPages) mask = (mask & ~__GFP_HIGHMEM) >>> 0;
          if (call === PagesCall.GetZeroedPage) mask = (mask | __GFP_ZERO) >>> 0;
          const first = events.length;
          const phys = machine.allocPages(order, mask);
          if (machine.panic !== undefined) {
            failure = { ...machine.panic, site: code[pc + 1]! };
            break loop;
          }
          stack[sp - 1] = phys >= 0 ? pointers.toPointer(phys) : nullFor(phys);
          pc += 3;
          executed++;
          if (onEvent !== undefined && events.length > first) {
            const seq = onEvent(first, events.length);
            if (seq !== undefined) {
              this.stopSite = code[pc - 2]!;
              stop = { reason: 'event', line: lines[statement]!, eventSeq: seq };
              break loop;
            }
          }
          continue;
        }
        case Op.FreePages: {
          const order = stack[--sp]!;
          const ptr = stack[--sp]!;
          if (typeof order !== 'number' || order < 0 || order > MAX_PAGE_ORDER) {
            failure = {
              code: 'KM4107',
              message: `free_pages order must be a page order from 0 to ${MAX_PAGE_ORDER}, not ${formatValueImpl(order)}`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          // free_pages(): `if (addr != 0)`; then VM_BUG_ON(!virt_addr_valid(addr)) and the page holding addr.
          if (ptr === NULL || ptr === 0) {
            pc += 2;
            break;
          }
          if (typeof ptr !== 'bigint' || ptr < DIRECT_MAP_START || ptr >= memoryEnd) {
            const inDirectMap = typeof ptr === 'bigint' && ptr >= DIRECT_MAP_START && ptr < DIRECT_MAP_END;
            failure = {
              code: 'KM4006',
              message: inDirectMap
                ? `free_pages of ${formatValueImpl(ptr)}, outside memory`
                : `free_pages of ${formatValueImpl(ptr)}, which is not a direct-map kernel address (virt_addr_valid fails)`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          const first = events.length;
          const bad = machine.freePages(pointers.toPhys(ptr), order);
          if (bad) {
            failure = { code: bad.code, message: bad.message, site: code[pc + 1]!, report: bad.report };
            break loop;
          }
          pc += 2;
          executed++;
          if (onEvent !== undefined && events.length > first) {
            const seq = onEvent(first, events.length);
            if (seq !== undefined) {
              this.stopSite = code[pc - 1]!;
              stop = { reason: 'event', line: lines[statement]!, eventSeq: seq };
              break loop;
            }
          }
          continue;
        }
        case Op.CallBuiltin: {
          const builtin = GENERIC_BUILTINS[code[pc + 2]!]!;
          const argc = code[pc + 3]!;
          sp -= argc;
          const args = stack.slice(sp, sp + argc);
          const first = events.length;
          // A procedure the builtin calls back (a slab constructor) runs above what this run() holds live.
          this.liveSp = sp + argc;
          this.liveBase = base;
          this.liveProc = proc;
          this.nestedFailure = undefined;
          const result = builtin.run(machine, args, this.program.strings, this.host);
          if (machine.panic !== undefined) {
            failure = { ...machine.panic, site: code[pc + 1]! };
            break loop;
          }
          if (this.nestedFailure !== undefined) {
            const f: RuntimeError = this.nestedFailure;
            failure = {
              code: f.code,
              message: f.message,
              site: code[pc + 1]!,
              ...(f.report ? { report: f.report } : {}),
            };
            break loop;
          }
          if (isCallFailure(result)) {
            failure = { code: result.code, message: result.message, report: result.report, site: code[pc + 1]! };
            break loop;
          }
          if (builtin.returnsValue) stack[sp++] = result ?? 0;
          pc += 4;
          executed++;
          if (onEvent !== undefined && events.length > first) {
            const seq = onEvent(first, events.length);
            if (seq !== undefined) {
              this.stopSite = code[pc - 3]!;
              stop = { reason: 'event', line: lines[statement]!, eventSeq: seq };
              break loop;
            }
          }
          continue;
        }
        case Op.RepeatInit: {
          const count = stack[--sp]!;
          if (typeof count !== 'number' || count < 0) {
            failure = {
              code: 'KM4105',
              message: `repeat count must be an integer from 0 to 2^53-1, not ${formatValueImpl(count)}`,
              site: code[pc + 2]!,
            };
            break loop;
          }
          slots[base + code[pc + 1]!] = count;
          pc += 3;
          break;
        }
        case Op.RepeatLoop: {
          const h = base + code[pc + 1]!;
          const left = slots[h] as number;
          if (left > 0) {
            slots[h] = left - 1;
            pc = code[pc + 2]!;
          } else {
            pc += 3;
          }
          break;
        }
        case Op.ForInit: {
          const end = stack[--sp]!;
          const start = stack[--sp]!;
          if (typeof start !== 'number' || typeof end !== 'number') {
            const bad = typeof start !== 'number' ? start : end;
            failure = {
              code: 'KM4105',
              message: `range bounds must be integers below 2^53, not ${formatValueImpl(bad)}`,
              site: code[pc + 2]!,
            };
            break loop;
          }
          const h = base + code[pc + 1]!;
          slots[h] = start;
          slots[h + 1] = end;
          pc += 3;
          break;
        }
        case Op.ForLoop: {
          const h = base + code[pc + 1]!;
          const current = slots[h] as number;
          if (current < (slots[h + 1] as number)) {
            slots[base + code[pc + 2]!] = current;
            slots[h] = current + 1;
            pc = code[pc + 3]!;
          } else {
            pc += 4;
          }
          break;
        }
        case Op.ListNew: {
          const n = code[pc + 1]!;
          sp -= n;
          const list: ValueList = { items: stack.slice(sp, sp + n) };
          stack[sp++] = list as unknown as Value;
          pc += 2;
          break;
        }
        case Op.ListPush: {
          const v = stack[--sp]!;
          const list = stack[--sp] as unknown as ValueList;
          if (list.items.length >= LIST_MAX_ITEMS) {
            failure = {
              code: 'KM4131',
              message: `push: the list already holds ${LIST_MAX_ITEMS} items, the most one list may hold`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          list.items.push(v);
          pc += 2;
          break;
        }
        case Op.ListPop: {
          const list = stack[sp - 1] as unknown as ValueList;
          if (list.items.length === 0) {
            failure = { code: 'KM4129', message: `pop of an empty list`, site: code[pc + 1]! };
            break loop;
          }
          stack[sp - 1] = list.items.pop()!;
          pc += 2;
          break;
        }
        case Op.ListGet:
        case Op.ListSet: {
          const set = code[pc] === Op.ListSet;
          const v = set ? stack[--sp]! : 0;
          const i = stack[--sp]!;
          const list = stack[--sp] as unknown as ValueList;
          if (typeof i !== 'number' || i < 0 || i >= list.items.length) {
            failure = {
              code: 'KM4130',
              message: `index ${formatValueImpl(i)} is outside the list (${list.items.length === 0 ? 'it is empty' : `0..${list.items.length - 1}`})`,
              site: code[pc + 1]!,
            };
            break loop;
          }
          if (set) list.items[i] = v;
          else stack[sp++] = list.items[i]!;
          pc += 2;
          break;
        }
        case Op.ListLen:
          stack[sp - 1] = (stack[sp - 1] as unknown as ValueList).items.length;
          pc += 1;
          break;
        case Op.ForEachInit: {
          const h = base + code[pc + 1]!;
          slots[h] = stack[--sp]!;
          slots[h + 1] = 0;
          pc += 2;
          break;
        }
        case Op.ForEachLoop: {
          const h = base + code[pc + 1]!;
          const items = (slots[h] as unknown as ValueList).items;
          const next = slots[h + 1] as number;
          if (next < items.length) {
            slots[base + code[pc + 2]!] = items[next]!;
            slots[h + 1] = next + 1;
            pc = code[pc + 3]!;
          } else {
            pc += 4;
          }
          break;
        }
        case Op.Halt:
          // kmemleak's scans long after the scenario ends: what the top level still holds is reachable.
          if (machine.kmemleak) {
            this.liveBase = base;
            this.liveProc = proc;
            this.liveSp = sp;
            machine.kmemleak.finalScan(this.liveValues().filter((v): v is bigint => typeof v === 'bigint'));
          }
          this._status = 'done';
          stop = { reason: 'end', line: statement >= 0 ? lines[statement]! : 0 };
          break loop;
        default:
          throw new Error(`vm: bad opcode ${code[pc]} at pc ${pc}`);
      }
      executed++;
    }

    if (failure !== undefined) {
      const range = this.program.sites[failure.site]!;
      const file = this.program.siteFiles[failure.site]!;
      this.fail({
        code: failure.code,
        message: failure.message,
        range,
        ...(file !== 0 ? { file: this.program.files[file]! } : {}),
        ...(failure.report !== undefined ? { report: failure.report } : {}),
      });
      stop = { reason: 'error', line: statement >= 0 ? lines[statement]! : 0, error: this._error };
    }
    this.pc = pc;
    this.sp = sp;
    this.base = base;
    this.proc = proc;
    this.statement = statement;
    this._statementsExecuted = statements;
    this._instructionsExecuted += executed;
    return stop!;
  }

  /**
   * The call stack, innermost first: the running procedure (at the error, the event's call or the current
   * statement), each caller at its call, and the top level (named after the file) last.
   */
  frames(): FrameView[] {
    const program = this.program;
    const statementFile =
      this.statement >= 0 ? program.files[program.statements[this.statement]!.file]! : program.fileName;
    const top = this._error
      ? { r: this._error.range, file: this._error.file ?? program.fileName }
      : this.stopSite >= 0
        ? { r: program.sites[this.stopSite], file: program.files[program.siteFiles[this.stopSite]!]! }
        : { r: this.statement >= 0 ? program.statements[this.statement]!.range : undefined, file: statementFile };
    const out = [this.frameView(this.proc, top.r, top.file)];
    for (let i = this.callFrames.length - 1; i >= 0; i--) {
      const f = this.callFrames[i]!;
      const file =
        f.site >= 0
          ? program.files[program.siteFiles[f.site]!]!
          : program.files[program.statements[Math.max(0, f.statement)]?.file ?? 0]!;
      out.push(this.frameView(f.proc, program.sites[f.site], file));
    }
    return out;
  }

  /** The current statement's range (and file, when an included one) for errors raised outside an instruction. */
  private statementPlace(): { range: Range; file?: string } {
    const st = this.program.statements[Math.max(0, this.statement)]!;
    return st.file === 0 ? { range: st.range } : { range: st.range, file: this.program.files[st.file]! };
  }

  private frameView(proc: number, r: Range | undefined, file: string): FrameView {
    const start = r?.start ?? { line: 0, character: 0 };
    const end = r?.end ?? start;
    return {
      name: proc < 0 ? this.program.name : this.program.procs[proc]!.name,
      file,
      line: start.line,
      character: start.character,
      endLine: end.line,
      endCharacter: end.character,
    };
  }

  /**
   * Variables visible in frame frameIndex (0 = innermost, as frames() lists them) at its current point,
   * outer scope first, in declaration order. A procedure's frame shows its parameters and locals; the
   * top-level frame the script's variables.
   */
  locals(frameIndex: number): VariableView[] {
    const n = this.callFrames.length;
    if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex > n) {
      return [];
    }
    let proc = this.proc;
    let base = this.base;
    let pc = this.pc;
    if (frameIndex > 0) {
      const callee = this.callFrames[n - frameIndex]!;
      proc = callee.proc;
      base = callee.base;
      pc = callee.returnPc - 3; // at its CALL
    }
    const out: VariableView[] = [];
    for (const v of this.program.variables) {
      if (v.proc === proc && v.visibleFrom <= pc && pc < v.visibleTo) {
        const value = this.slots[base + v.slot]! as Cell;
        out.push({ name: v.name, value, kind: valueKind(value) });
      }
    }
    return out;
  }

  saveState(): VmState {
    const lists = new Map<ValueList, ValueList>();
    return {
      pc: this.pc,
      stack: copyCells(this.stack.slice(0, this.sp), lists),
      slots: copyCells(this.slots, lists),
      status: this._status,
      statement: this.statement,
      standing: this.standing,
      stopSite: this.stopSite,
      error: this._error,
      statementsExecuted: this._statementsExecuted,
      instructionsExecuted: this._instructionsExecuted,
      base: this.base,
      proc: this.proc,
      callFrames: this.callFrames.slice(),
      expectStarts: this.expectStarts.slice(),
      expected: this.expected.slice(),
      cpus: this.cpus.slice(),
      contexts: this.contexts.slice(),
    };
  }

  /** Restores a state saved from a VM of the same program (the machine is restored separately). */
  restoreState(state: VmState): void {
    if (state.slots.length < this.program.slotCount) {
      throw new Error('vm: the state was saved from another program');
    }
    this.pc = state.pc;
    this.sp = state.stack.length;
    // Copies of the state's lists: running on must not change the checkpoint (aliases stay aliases).
    const lists = new Map<ValueList, ValueList>();
    copyCells(state.stack, lists).forEach((v, i) => (this.stack[i] = v));
    this.slots.length = state.slots.length;
    copyCells(state.slots, lists).forEach((v, i) => (this.slots[i] = v));
    this.base = state.base;
    this.proc = state.proc;
    this.callFrames.length = 0;
    this.callFrames.push(...state.callFrames);
    this.expectStarts.length = 0;
    this.expectStarts.push(...state.expectStarts);
    this.cpus.length = 0;
    this.cpus.push(...state.cpus);
    this.contexts.length = 0;
    this.contexts.push(...(state.contexts ?? []));
    this.expected.length = 0;
    state.expected.forEach((n, i) => (this.expected[i] = n));
    this._status = state.status;
    this.statement = state.statement;
    this.standing = state.standing;
    this.stopSite = state.stopSite;
    this._error = state.error;
    this._statementsExecuted = state.statementsExecuted;
    this._instructionsExecuted = state.instructionsExecuted;
  }

  private fail(e: RuntimeError): void {
    this._status = 'error';
    this._error = e;
  }
}

function breakpointStop(line: number, file: number): Stop {
  return file === 0 ? { reason: 'breakpoint', line } : { reason: 'breakpoint', line, file };
}

/** Values with each list replaced by a copy; `copies` maps a list to its copy, so two names of one list stay one. */
function copyCells(cells: readonly Value[], copies: Map<ValueList, ValueList>): Value[] {
  return cells.map((v) => {
    const c = v as Cell;
    if (!isList(c)) return v;
    let copy = copies.get(c);
    if (!copy) {
      copy = { items: c.items.slice() };
      copies.set(c, copy);
    }
    return copy as unknown as Value;
  });
}

/** What kmalloc's failure (KMALLOC_FAILED) becomes: NULL. */
function nullFor(phys: number): bigint {
  if (phys !== KMALLOC_FAILED) {
    throw new Error(`vm: machine.kmalloc returned ${phys}`);
  }
  return NULL;
}
