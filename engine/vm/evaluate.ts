/*
 * Debugger expressions: the debug console, the watch view and the editor's hover evaluate a scenario
 * expression against a paused machine, read-only.
 *
 *   names      the frame's visible variables (VariableView), then the builtin constants (GFP masks, ...)
 *   operators  the VM's own arithmetic (values.ts), so `p + 192` means what it would in the scenario
 *   lists      `pool[i]`, `length(pool)`, `[a, b]`
 *   memory     read8/16/32/64 of the direct map: the bytes as the kernel would read them (free pointers in
 *              place), with no detector check, so looking never makes a KASAN report
 *   counters   nr_free(order), nr_free_pages(), current_pid(), the slab_* columns of /proc/slabinfo
 *
 * Anything that would change the machine or the VM (kmalloc, a procedure call, pop) is refused with a reason,
 * as are errors the scenario would stop on (division by zero, an index outside a list). Never throws on text.
 */

import { Expr } from '../lang/ast';
import { BUILTIN_CONSTANTS } from '../lang/builtins';
import { parseExpression } from '../lang/parser';
import { LIST_LENGTH } from '../lang/checker';
import { Machine } from '../mm/machine';
import { GENERIC_BUILTIN_IDS, ALL_GENERIC_BUILTINS } from './calls';
import { isCallFailure } from './calls';
import { binary } from '../lang/fold';
import { Cell, Value, bitNot, formatValue, isList, logicalNot, neg } from './values';

export type Evaluation = { readonly value: Cell } | { readonly error: string };

/** Builtins that only read the machine, callable from the debugger. */
const READ_ONLY_BUILTINS: ReadonlySet<string> = new Set([
  'nr_free',
  'nr_free_pages',
  'current_pid',
  'slab_active_objs',
  'slab_num_objs',
  'slab_num_slabs',
]);

const LOAD_WIDTHS: Readonly<Record<string, number>> = { read8: 1, read16: 2, read32: 4, read64: 8 };

class Refused {
  constructor(readonly reason: string) {}
}

/**
 * Evaluates `text` in a frame whose visible variables are `variables` (innermost declaration last, as
 * Vm.locals() lists them). undefined when the text is not an expression at all (the caller tries its other
 * commands); { error } when it is one that cannot be evaluated here.
 */
export function evaluateExpression(
  machine: Machine,
  variables: readonly { readonly name: string; readonly value: Cell }[],
  text: string,
): Evaluation | undefined {
  const parsed = parseExpression(text);
  if ('error' in parsed) return undefined;
  const scope = new Map<string, Cell>();
  for (const v of variables) scope.set(v.name, v.value); // later (inner) declarations win
  try {
    return { value: evaluate(machine, scope, parsed.expr) };
  } catch (e) {
    if (e instanceof Refused) return { error: e.reason };
    throw e;
  }
}

function evaluate(machine: Machine, scope: ReadonlyMap<string, Cell>, e: Expr): Cell {
  const value = (x: Expr): Value => {
    const c = evaluate(machine, scope, x);
    if (isList(c)) throw new Refused(`${describe(x)} is a list, not a number`);
    return c;
  };
  switch (e.kind) {
    case 'number':
      return e.value;
    case 'name': {
      const v = scope.get(e.name) ?? BUILTIN_CONSTANTS.get(e.name);
      if (v === undefined) throw new Refused(`'${e.name}' is not a variable in scope here`);
      return v;
    }
    case 'unary': {
      const v = value(e.operand);
      return e.op === '-' ? neg(v) : e.op === '~' ? bitNot(v) : logicalNot(v);
    }
    case 'binary': {
      const r = binary(e.op, value(e.left), value(e.right));
      if (r === undefined) {
        throw new Refused(`${e.op === '<<' || e.op === '>>' ? 'shift count outside 0..63' : 'division by zero'}`);
      }
      return r;
    }
    case 'list':
      return { items: e.items.map(value) };
    case 'index': {
      const list = evaluate(machine, scope, e.list);
      if (!isList(list)) throw new Refused(`${describe(e.list)} is a number, not a list`);
      const i = value(e.index);
      if (typeof i !== 'number' || i < 0 || i >= list.items.length) {
        throw new Refused(`index ${formatValue(i)} is outside the list (length ${list.items.length})`);
      }
      return list.items[i]!;
    }
    case 'call':
      return call(machine, scope, e, value);
    case 'pop':
      throw new Refused('pop changes the list; the debugger only reads (use pool[length(pool) - 1])');
    case 'string':
      throw new Refused('a string is not a value');
    case 'error':
      throw new Refused('not an expression');
  }
}

function call(
  machine: Machine,
  scope: ReadonlyMap<string, Cell>,
  e: Extract<Expr, { kind: 'call' }>,
  value: (x: Expr) => Value,
): Cell {
  const name = e.callee.name;
  if (name === LIST_LENGTH && e.args.length === 1) {
    const list = evaluate(machine, scope, e.args[0]!);
    if (!isList(list)) throw new Refused(`${describe(e.args[0]!)} is a number, not a list`);
    return list.items.length;
  }
  const width = LOAD_WIDTHS[name];
  if (width !== undefined && e.args.length === 1) return load(machine, value(e.args[0]!), width);
  const id = GENERIC_BUILTIN_IDS.get(name);
  if (id === undefined || !READ_ONLY_BUILTINS.has(name)) {
    throw new Refused(`${name}() would run scenario code or change the machine; the debugger only reads`);
  }
  const builtin = ALL_GENERIC_BUILTINS[id]!;
  if (e.args.length !== builtin.params.length) {
    throw new Refused(`${name} takes ${builtin.params.length} argument(s), not ${e.args.length}`);
  }
  const strings: string[] = [];
  const args = e.args.map((a, i) => {
    if (builtin.stringParams?.includes(i)) {
      if (a.kind !== 'string') throw new Refused(`the ${builtin.params[i]} of ${name} is a string literal`);
      strings.push(a.value);
      return strings.length - 1;
    }
    return value(a);
  });
  const noHost = {
    callProcedure: () => undefined,
    procedureName: () => '?',
    liveValues: () => [],
  };
  const r = builtin.run(machine, args, strings, noHost);
  if (r === undefined) throw new Refused(`${name} gives no value`);
  if (isCallFailure(r)) throw new Refused(r.message);
  return r;
}

/** A little-endian load of the direct map, as the kernel would read the bytes; no detector sees it. */
function load(machine: Machine, addr: Value, width: number): Value {
  const va = BigInt.asUintN(64, BigInt(addr));
  const phys = machine.phys(va);
  const last = machine.phys(va + BigInt(width - 1));
  if (phys === undefined || last === undefined) {
    throw new Refused(`${formatValue(addr)} is not a direct-map address of this machine's RAM`);
  }
  const bytes = machine.readMemory(phys, width);
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function describe(e: Expr): string {
  return e.kind === 'name' ? `'${e.name}'` : 'that';
}
