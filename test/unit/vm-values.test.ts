/*
 * Scenario values (engine/vm/values.ts) against a reference written here with plain BigInt arithmetic:
 * every result is the mathematical one, normalised (a number when safe, else the 64-bit word it wraps to).
 * Also formatValue and the pointer cache, which must agree with physToVirt/virtToPhys for every address.
 *
 * Seeded: the seed is printed as a test diagnostic and can be changed with FC_SEED=<n>.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { physToVirt, virtToPhys } from '../../engine/mm/address';
import { PointerCache } from '../../engine/vm/pointers';
import {
  Value,
  add,
  bitAnd,
  bitNot,
  bitOr,
  bitXor,
  div,
  formatValue,
  fromBigInt,
  mod,
  mul,
  neg,
  shl,
  shr,
  sub,
  valueEquals,
  valueKind,
} from '../../engine/vm/values';

const FC_SEED = Number(process.env.FC_SEED ?? 7331);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The reference normalisation, written independently of fromBigInt. */
function normalise(x: bigint): Value {
  if (x >= -MAX_SAFE && x <= MAX_SAFE) return Number(x);
  const word = ((x % (1n << 64n)) + (1n << 64n)) % (1n << 64n);
  return word <= MAX_SAFE ? Number(word) : word;
}

/** Values a scenario can hold: ints of every size, words, pointers, NULL and ZERO_SIZE_PTR. */
const valueArb: fc.Arbitrary<Value> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: MAX_SAFE + 1n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: 0xffff888000000000n, max: 0xffff888000000000n + (1n << 36n) }),
  fc.constantFrom<Value>(0n, 16n, 0, -1, 1, 63, 64, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
);

function canonical(v: Value): boolean {
  return typeof v === 'number' ? Number.isSafeInteger(v) && !Object.is(v, -0) : v > MAX_SAFE && v < 1n << 64n;
}

test('binary operations equal the BigInt reference, normalised', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  const ops: [string, (a: Value, b: Value) => Value | undefined, (a: bigint, b: bigint) => bigint | undefined][] = [
    ['+', add, (a, b) => a + b],
    ['-', sub, (a, b) => a - b],
    ['*', mul, (a, b) => a * b],
    ['/', div, (a, b) => (b === 0n ? undefined : a / b)],
    ['%', mod, (a, b) => (b === 0n ? undefined : a % b)],
    ['&', bitAnd, (a, b) => a & b],
    ['|', bitOr, (a, b) => a | b],
    ['^', bitXor, (a, b) => a ^ b],
  ];
  fc.assert(
    fc.property(valueArb, valueArb, (a, b) => {
      for (const [name, op, reference] of ops) {
        const want = reference(BigInt(a), BigInt(b));
        const got = op(a, b);
        assert.deepEqual(got, want === undefined ? undefined : normalise(want), `${String(a)} ${name} ${String(b)}`);
        if (got !== undefined) assert.ok(canonical(got), `${String(a)} ${name} ${String(b)} = ${String(got)}`);
      }
      assert.equal(valueEquals(a, b), BigInt(a) === BigInt(b));
      // Inputs that are not in canonical form (small bigints) compare by value too.
      assert.equal(valueEquals(BigInt(a), a), true);
    }),
    { seed: FC_SEED, numRuns: 2000 },
  );
});

test('shifts: counts 0..63, arithmetic right shift for negative ints', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  fc.assert(
    fc.property(valueArb, fc.integer({ min: -2, max: 66 }), (a, n) => {
      const ok = n >= 0 && n <= 63;
      assert.deepEqual(shl(a, n), ok ? normalise(BigInt(a) << BigInt(n)) : undefined);
      assert.deepEqual(shr(a, n), ok ? normalise(BigInt(a) >> BigInt(n)) : undefined);
    }),
    { seed: FC_SEED, numRuns: 2000 },
  );
  assert.equal(shl(1, 64n), undefined);
});

test('unary operations', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  fc.assert(
    fc.property(valueArb, (a) => {
      assert.deepEqual(neg(a), normalise(-BigInt(a)));
      assert.deepEqual(bitNot(a), normalise(~BigInt(a)));
    }),
    { seed: FC_SEED, numRuns: 2000 },
  );
  assert.ok(!Object.is(neg(0), -0));
  assert.ok(!Object.is(mul(-3, 0), -0));
  assert.ok(!Object.is(div(-1, 3), -0));
  assert.ok(!Object.is(mod(-3, 3), -0));
});

test('normalisation: safe ints are numbers, wider values wrap to unsigned 64-bit words', () => {
  assert.equal(fromBigInt(5n), 5);
  assert.equal(fromBigInt(MAX_SAFE + 1n), MAX_SAFE + 1n);
  assert.equal(fromBigInt(1n << 64n), 0);
  assert.equal(fromBigInt(-(1n << 60n)), 0xf000000000000000n);
  assert.equal(fromBigInt((1n << 64n) + 7n), 7);
});

test('formatValue: decimal ints, hex pointers, kernel addresses as 16 digits', () => {
  assert.equal(formatValue(0), '0');
  assert.equal(formatValue(-5), '-5');
  assert.equal(formatValue(4096), '4096');
  assert.equal(formatValue(0n), '0x0');
  assert.equal(formatValue(16n), '0x10');
  assert.equal(formatValue(0xffff888000000000n), '0xffff888000000000');
  assert.equal(formatValue(0xffff8880000000c0n), '0xffff8880000000c0');
  assert.equal(formatValue(1n << 60n), '0x1000000000000000');
  assert.equal(valueKind(1n << 60n), 'ptr');
  assert.equal(valueKind(12), 'int');
});

test('the pointer cache agrees with physToVirt/virtToPhys', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
  const cache = new PointerCache(0xffff888000000000n, 0); // x86-64 4-level PAGE_OFFSET, RAM from physical 0
  const memory = 64 * 1024 ** 3;
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: memory - 1 }), fc.integer({ min: 0, max: 1 << 20 })), {
        minLength: 1,
        maxLength: 50,
      }),
      (physes) => {
        for (const phys of physes) {
          const ptr = cache.toPointer(phys);
          assert.equal(ptr, physToVirt(phys));
          assert.equal(cache.toPhys(ptr), phys);
          // A bigint of the same value, not the cached object.
          assert.equal(cache.toPhys(BigInt.asUintN(64, ptr + 0n)), virtToPhys(ptr, memory));
        }
        for (const phys of physes) {
          assert.equal(cache.toPhys(physToVirt(phys)), phys);
        }
      },
    ),
    { seed: FC_SEED, numRuns: 500 },
  );
});
