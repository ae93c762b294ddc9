/*
 * Scenario values and their arithmetic, shared by the VM and the compiler's constant folding (so a folded
 * expression means exactly what the VM would compute).
 *
 * A value is an integer. It is a JavaScript number while it is a safe integer (|v| < 2^53); anything wider
 * is a 64-bit word held as a non-negative bigint (results wrap modulo 2^64, as unsigned long does).
 * Pointers are always bigint: kmalloc returns PAGE_OFFSET + phys (0xffff888000000000 and up), NULL (0n)
 * or ZERO_SIZE_PTR (16n). Every arithmetic result is normalised the same way, so `p + 8` stays a pointer
 * (it is wide), `q - p` of two objects is a plain int, and a bigint inside the safe range only ever comes
 * straight from a builtin (NULL, ZERO_SIZE_PTR). A value's kind follows its representation: bigint = ptr.
 *
 * Comparisons and the logical operators give 1 or 0. Division truncates toward zero (C); `>>` is
 * arithmetic on negative ints and logical on words. The operations that can fail (division and remainder
 * by zero, shifts by a count outside 0..63) return undefined and the caller reports the error.
 */

export type Value = number | bigint;

/**
 * A list of values (`[]`, `push`, `pop`, `pool[i]`): a scenario's pool of handles. Lists are objects and pass
 * by reference, as a kernel passes a list_head; they hold integers only. The checker keeps lists out of
 * arithmetic (a list is never an operand), so only the list instructions, print and the debugger meet one.
 */
export interface ValueList {
  readonly items: Value[];
}

/** What a variable or an operand holds: an integer or a list. */
export type Cell = Value | ValueList;

/** Items one list may hold; one more is runtime error KM4131 (a runaway loop filling a pool). */
export const LIST_MAX_ITEMS = 1 << 20;

export function isList(c: Cell): c is ValueList {
  return typeof c === 'object';
}

/** A value as formatValue writes it; a list as `[a, b, c]`, its first 32 items and a count of the rest. */
export function formatCell(c: Cell): string {
  if (!isList(c)) return formatValue(c);
  const shown = c.items.slice(0, 32).map(formatValue);
  if (c.items.length > 32) shown.push(`... ${c.items.length - 32} more`);
  return `[${shown.join(', ')}]`;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const BIG_MAX_SAFE = BigInt(MAX_SAFE);
const BIG_MIN_SAFE = -BIG_MAX_SAFE;
/** Kernel-half addresses (bit 63 set) print as 16 hex digits. */
const KERNEL_HALF = 1n << 63n;

/** The canonical value of a mathematical integer: a number when safe, else the 64-bit word it wraps to. */
export function fromBigInt(x: bigint): Value {
  if (x >= BIG_MIN_SAFE && x <= BIG_MAX_SAFE) {
    return Number(x);
  }
  const w = BigInt.asUintN(64, x);
  return w <= BIG_MAX_SAFE ? Number(w) : w;
}

function big(v: Value): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

function safe(r: number): boolean {
  return r <= MAX_SAFE && r >= -MAX_SAFE;
}

export function isTruthy(v: Value): boolean {
  return v !== 0 && v !== 0n;
}

export function valueEquals(a: Value, b: Value): boolean {
  if (typeof a === typeof b) {
    return a === b;
  }
  return big(a) === big(b);
}

export function add(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (safe(r)) return r;
  }
  return fromBigInt(big(a) + big(b));
}

export function sub(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a - b;
    if (safe(r)) return r;
  }
  return fromBigInt(big(a) - big(b));
}

export function mul(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (safe(r)) return r + 0; // + 0 turns -0 into 0
  }
  return fromBigInt(big(a) * big(b));
}

/** Truncating division; undefined when dividing by zero. */
export function div(a: Value, b: Value): Value | undefined {
  if (b === 0 || b === 0n) return undefined;
  if (typeof a === 'number' && typeof b === 'number') {
    return Math.trunc(a / b) + 0;
  }
  return fromBigInt(big(a) / big(b));
}

/** Remainder with the sign of the dividend (C); undefined when dividing by zero. */
export function mod(a: Value, b: Value): Value | undefined {
  if (b === 0 || b === 0n) return undefined;
  if (typeof a === 'number' && typeof b === 'number') {
    return (a % b) + 0;
  }
  return fromBigInt(big(a) % big(b));
}

function shiftCount(b: Value): number | undefined {
  return typeof b === 'number' && b >= 0 && b <= 63 ? b : undefined;
}

export function shl(a: Value, b: Value): Value | undefined {
  const n = shiftCount(b);
  if (n === undefined) return undefined;
  if (typeof a === 'number') {
    const r = a * 2 ** n;
    if (safe(r)) return r + 0;
  }
  return fromBigInt(big(a) << BigInt(n));
}

export function shr(a: Value, b: Value): Value | undefined {
  const n = shiftCount(b);
  if (n === undefined) return undefined;
  if (typeof a === 'number') {
    return Math.floor(a / 2 ** n) + 0;
  }
  return fromBigInt(a >> BigInt(n));
}

function int32(v: Value): v is number {
  return typeof v === 'number' && (v | 0) === v;
}

export function bitAnd(a: Value, b: Value): Value {
  if (int32(a) && int32(b)) return a & b;
  return fromBigInt(big(a) & big(b));
}

export function bitOr(a: Value, b: Value): Value {
  if (int32(a) && int32(b)) return a | b;
  return fromBigInt(big(a) | big(b));
}

export function bitXor(a: Value, b: Value): Value {
  if (int32(a) && int32(b)) return a ^ b;
  return fromBigInt(big(a) ^ big(b));
}

export function neg(a: Value): Value {
  if (typeof a === 'number') return 0 - a;
  return fromBigInt(-a);
}

export function bitNot(a: Value): Value {
  if (int32(a)) return ~a;
  return fromBigInt(-big(a) - 1n);
}

export function logicalNot(a: Value): Value {
  return isTruthy(a) ? 0 : 1;
}

export function lessThan(a: Value, b: Value): boolean {
  return a < b; // JavaScript compares number and bigint by mathematical value
}

/** Decimal for ints; 0x-hex for pointers and other wide words, 16 digits for kernel addresses. */
export function formatValue(v: Value): string {
  if (typeof v === 'number') {
    return String(v);
  }
  if (v < 0n) {
    return `-0x${(-v).toString(16)}`;
  }
  return v >= KERNEL_HALF ? `0x${v.toString(16).padStart(16, '0')}` : `0x${v.toString(16)}`;
}

export function valueKind(v: Cell): 'int' | 'ptr' | 'list' {
  return typeof v === 'bigint' ? 'ptr' : typeof v === 'object' ? 'list' : 'int';
}
