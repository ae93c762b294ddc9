/*
 * Golden files for rich text (slabinfo, buddyinfo, zoneinfo, meminfo...), as js-debug's goldenText.ts does:
 * compare with test/unit/golden/<name>, write <name>.actual on a mismatch and say where the texts first
 * differ; UPDATE_GOLDEN=1 rewrites the golden instead. Not a test file itself.
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const GOLDEN_DIR = join(__dirname, 'golden');

/** The first place two texts differ, as "line L, column C" with both lines and a caret, or undefined. */
export function firstDifference(actual: string, expected: string): string | undefined {
  if (actual === expected) {
    return undefined;
  }
  const a = actual.split('\n');
  const e = expected.split('\n');
  for (let line = 0; line < Math.max(a.length, e.length); line++) {
    const al = a[line];
    const el = e[line];
    if (al === el) continue;
    if (al === undefined || el === undefined) {
      return `line ${line + 1}: ${al === undefined ? 'missing' : 'extra'} line ${JSON.stringify(al ?? el)}`;
    }
    let col = 0;
    while (col < al.length && al[col] === el[col]) col++;
    return (
      `line ${line + 1}, column ${col + 1}:\n` +
      `  expected: ${JSON.stringify(el)}\n` +
      `  actual:   ${JSON.stringify(al)}\n` +
      `             ${' '.repeat(col)}^`
    );
  }
  return 'texts differ';
}

/** Compares `actual` with golden/<name>; writes <name>.actual on a mismatch; UPDATE_GOLDEN=1 rewrites it. */
export function assertGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  const actualFile = `${file}.actual`;
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(file, actual);
    rmSync(actualFile, { force: true });
    return;
  }
  if (!existsSync(file)) {
    writeFileSync(actualFile, actual);
    assert.fail(`golden ${name} is missing; wrote ${name}.actual (accept with UPDATE_GOLDEN=1)`);
  }
  const expected = readFileSync(file, 'utf8');
  const diff = firstDifference(actual, expected);
  if (diff === undefined) {
    rmSync(actualFile, { force: true });
    return;
  }
  writeFileSync(actualFile, actual);
  assert.fail(`golden ${name} differs at ${diff}\n(wrote ${name}.actual; accept with UPDATE_GOLDEN=1)`);
}
