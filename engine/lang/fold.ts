/*
 * Constant folding: the value of an expression made only of literals, builtin constants and operators,
 * computed with the VM's own arithmetic (engine/vm/values.ts), so folding never changes a result.
 * Undefined when the expression is not constant, or when evaluating it would fail (division by zero, a
 * bad shift): those stay in the bytecode and fail at run time with a range, like any other.
 */

import { Expr } from './ast';
import { BUILTIN_CONSTANTS } from './builtins';
import {
  Value,
  add,
  bitAnd,
  bitNot,
  bitOr,
  bitXor,
  div,
  isTruthy,
  lessThan,
  logicalNot,
  mod,
  mul,
  neg,
  shl,
  shr,
  sub,
  valueEquals,
} from '../vm/values';

/** `isConstantName(name)` says whether a name denotes a builtin constant here (not a variable). */
export function foldConstant(expr: Expr, isConstantName: (name: string) => boolean): Value | undefined {
  switch (expr.kind) {
    case 'number':
      return expr.value;
    case 'name':
      return isConstantName(expr.name) ? BUILTIN_CONSTANTS.get(expr.name) : undefined;
    case 'unary': {
      const v = foldConstant(expr.operand, isConstantName);
      if (v === undefined) return undefined;
      return expr.op === '-' ? neg(v) : expr.op === '~' ? bitNot(v) : logicalNot(v);
    }
    case 'binary': {
      const a = foldConstant(expr.left, isConstantName);
      if (a === undefined) return undefined;
      const b = foldConstant(expr.right, isConstantName);
      if (b === undefined) return undefined;
      return binary(expr.op, a, b);
    }
    default:
      return undefined;
  }
}

export function binary(op: string, a: Value, b: Value): Value | undefined {
  switch (op) {
    case '+':
      return add(a, b);
    case '-':
      return sub(a, b);
    case '*':
      return mul(a, b);
    case '/':
      return div(a, b);
    case '%':
      return mod(a, b);
    case '<<':
      return shl(a, b);
    case '>>':
      return shr(a, b);
    case '&':
      return bitAnd(a, b);
    case '|':
      return bitOr(a, b);
    case '^':
      return bitXor(a, b);
    case '==':
      return valueEquals(a, b) ? 1 : 0;
    case '!=':
      return valueEquals(a, b) ? 0 : 1;
    case '<':
      return lessThan(a, b) ? 1 : 0;
    case '<=':
      return lessThan(b, a) ? 0 : 1;
    case '>':
      return lessThan(b, a) ? 1 : 0;
    case '>=':
      return lessThan(a, b) ? 0 : 1;
    case '&&':
      return isTruthy(a) && isTruthy(b) ? 1 : 0;
    case '||':
      return isTruthy(a) || isTruthy(b) ? 1 : 0;
    default:
      return undefined;
  }
}
