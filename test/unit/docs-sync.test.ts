/*
 * docs/language.md and the language service say the same thing: the docs' reference tables are exactly what
 * scripts/gen-docs.mjs writes from the engine's tables (so a hover text changed without `npm run docs` fails
 * here), and a hover on a builtin, a keyword or a machine entry shows the text of its row.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILTIN_FUNCTIONS } from '../../engine/lang/builtins';
import { hover } from '../../engine/lang/completion';
import { Position } from '../../engine/lang/diagnostics';

const ROOT = resolve(__dirname, '..', '..');
const DOCS = readFileSync(resolve(ROOT, 'docs', 'language.md'), 'utf8');

interface Generator {
  generateLanguageDoc(text: string): Promise<string>;
}

/** The cells of the docs' table row whose first cell is `first`, unescaped as a reader sees them. */
function row(first: string): string[] {
  for (const line of DOCS.split('\n')) {
    if (!line.startsWith('| ')) continue;
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replaceAll('\\|', '|'));
    if (cells[0] === first) return cells;
  }
  assert.fail(`docs/language.md has no table row for ${first}`);
}

function hoverText(source: string, position: Position): string {
  const h = hover(source, position, 'docs.kmem');
  assert.ok(h, `a hover at ${JSON.stringify(position)} in ${JSON.stringify(source)}`);
  return h.contents;
}

test('docs/language.md is what scripts/gen-docs.mjs writes (else run `npm run docs`)', async () => {
  const url = pathToFileURL(resolve(ROOT, 'scripts', 'gen-docs.mjs')).href;
  const { generateLanguageDoc } = (await import(url)) as Generator;
  assert.equal(DOCS, await generateLanguageDoc(DOCS), 'docs/language.md is stale: run `npm run docs`');
});

test("a builtin's hover shows its docs row: meaning and what it returns", () => {
  const [, returns, meaning] = row('`kmalloc(size, gfp)`');
  const text = hoverText('let p = kmalloc(64, GFP_KERNEL)', { line: 0, character: 10 });
  assert.ok(text.includes(meaning!), text);
  assert.ok(text.includes(`Returns ${returns}.`), text);
  const [, , kfree] = row('`kfree(ptr)`');
  assert.ok(hoverText('kfree(0)', { line: 0, character: 2 }).includes(kfree!));
});

test("a keyword's hover is its docs row", () => {
  const [, meaning] = row('`repeat`');
  assert.equal(hoverText('repeat 2 {\n}', { line: 0, character: 2 }), `**repeat**: ${meaning}`);
});

test("a machine entry's hover shows its docs row: meaning, range and default", () => {
  const [, meaning, range, dflt] = row('`memory SIZE`');
  const text = hoverText('machine { memory 1G }', { line: 0, character: 12 });
  assert.ok(text.includes(meaning!), text);
  assert.ok(text.includes(`Range ${range}, default ${dflt}.`), text);
  const [, kasan] = row('`kasan y | n`');
  assert.ok(hoverText('machine { kasan y }', { line: 0, character: 12 }).includes(kasan!));
});

test('a builtin returns "nothing" exactly when it returns no value', () => {
  for (const fn of BUILTIN_FUNCTIONS.values()) {
    assert.equal(fn.returns === 'nothing', !fn.returnsValue, fn.name);
    assert.ok(fn.summary && fn.doc, fn.name);
  }
});
