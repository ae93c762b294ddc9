// The reference tables of docs/language.md, written from the engine's own tables, so that the docs and the
// editor's hovers say the same thing: builtin functions (BUILTIN_FUNCTIONS: summary, doc, returns, topic),
// constants (CONSTANT_FAMILIES), reserved words (keywordDoc), machine entries (MACHINE_ENTRY_DOCS), report
// kinds (reportKindDoc) and diagnostic codes (DIAGNOSTIC_CODES).
//
// Each table sits between `<!-- generated: NAME [ARGS] -->` and `<!-- end generated -->`; the text outside the
// markers is hand-written and kept as it is. NAME is one of the keys of REGIONS below; `builtins` takes the
// topics of the builtins it lists, in order (every topic in exactly one table). Builtins of one topic that come
// one after the other with the same doc share a row. The whole file is then formatted as prettier formats it,
// so `prettier --check` passes and test/unit/docs-sync.test.ts can compare the file with what this writes.
//
//   npm run docs          rewrites docs/language.md (tsx runs the engine's TypeScript)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import { BUILTIN_FUNCTIONS, CONSTANT_FAMILIES, REPORT_KINDS } from '../engine/lang/builtins.ts';
import {
  MACHINE_ENTRY_DOCS,
  builtinSignature,
  gfpComposition,
  keywordDoc,
  reportKindDoc,
} from '../engine/lang/completion.ts';
import { DIAGNOSTIC_CODES } from '../engine/lang/diagnostics.ts';
import { MACHINE_ENTRIES } from '../engine/lang/parser.ts';
import { RESERVED_WORDS } from '../engine/lang/tokens.ts';

export const LANGUAGE_DOC = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'language.md');

const BEGIN = /^<!-- generated: ([a-z-]+)((?: [a-z]+)*) -->$/;
const END = '<!-- end generated -->';

/** A table cell: one line, its pipes escaped (GitHub's tables need it inside code spans too). */
function cell(text) {
  if (/[\r\n]/.test(text)) throw new Error(`a docs table cell must be one line: ${JSON.stringify(text)}`);
  return text.replaceAll('|', '\\|');
}

function table(header, rows) {
  const line = (cells) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const code = (text) => `\`${text}\``;

/** The builtins of some topics, in the engine's order; neighbours with the same doc share a row. */
function builtinTable(topics) {
  const rows = [];
  for (const topic of topics) {
    const fns = [...BUILTIN_FUNCTIONS.values()].filter((fn) => fn.topic === topic);
    if (fns.length === 0) throw new Error(`no builtin has the topic "${topic}"`);
    let group = [];
    const flush = () => {
      if (group.length === 0) return;
      const calls = group.map((fn) => code(builtinSignature(fn))).join(', ');
      const returns = [...new Set(group.map((fn) => fn.returns))].join(', ');
      rows.push([calls, returns, group[0].doc]);
      group = [];
    };
    for (const fn of fns) {
      if (group.length > 0 && group[0].doc !== fn.doc) flush();
      group.push(fn);
    }
    flush();
  }
  return table(['call', 'returns', 'meaning'], rows);
}

function constantTables() {
  return CONSTANT_FAMILIES.map((family) => {
    const names = [...family.values.keys()];
    const composed = names.some((name) => gfpComposition(name) !== undefined);
    const rows = names.map((name) => {
      const row = [code(name), code(`0x${family.values.get(name).toString(16)}`)];
      return composed ? [...row, gfpComposition(name) ? code(gfpComposition(name)) : ''] : row;
    });
    return `${family.doc}\n\n${table([family.kind, 'value', ...(composed ? ['made of'] : [])], rows)}`;
  }).join('\n\n');
}

function machineEntryTable() {
  const rows = MACHINE_ENTRIES.map((name) => {
    const doc = MACHINE_ENTRY_DOCS[name];
    if (!doc) throw new Error(`the machine entry "${name}" has no MACHINE_ENTRY_DOCS entry (completion.ts)`);
    return [code(`${name} ${doc.values}`), doc.meaning, doc.range, doc.default];
  });
  return table(['entry', 'meaning', 'range', 'default'], rows);
}

/** What each generated region holds, by the name its marker gives. */
const REGIONS = {
  builtins: builtinTable,
  constants: constantTables,
  'machine-entries': machineEntryTable,
  'report-kinds': () =>
    table(
      ['kind', 'the block must make'],
      [...REPORT_KINDS.keys()].map((kind) => [code(kind), reportKindDoc(kind)]),
    ),
  keywords: () =>
    table(
      ['word', 'meaning'],
      [...RESERVED_WORDS].map((word) => [code(word), keywordDoc(word)]),
    ),
  diagnostics: () => table(['code', 'meaning'], Object.entries(DIAGNOSTIC_CODES)),
};

/** The docs with every generated region written afresh, formatted as prettier formats the file. */
export async function generateLanguageDoc(text) {
  const lines = text.split('\n');
  const out = [];
  const placed = new Set();
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]);
    const begin = BEGIN.exec(lines[i]);
    if (!begin) continue;
    const [, name, rest] = begin;
    const args = rest.split(' ').filter(Boolean);
    if (!REGIONS[name]) throw new Error(`line ${i + 1}: no generated region is called "${name}"`);
    if (name === 'builtins') {
      for (const topic of args) {
        if (placed.has(topic)) throw new Error(`line ${i + 1}: the topic "${topic}" has a table already`);
        placed.add(topic);
      }
    }
    const end = lines.indexOf(END, i + 1);
    if (end < 0) throw new Error(`line ${i + 1}: "${lines[i]}" has no "${END}"`);
    out.push('', REGIONS[name](args), '', END);
    i = end;
  }
  const missing = [...new Set([...BUILTIN_FUNCTIONS.values()].map((fn) => fn.topic))].filter((t) => !placed.has(t));
  if (missing.length > 0) throw new Error(`no builtins table lists the topics ${missing.join(', ')}`);
  const options = await prettier.resolveConfig(LANGUAGE_DOC);
  return prettier.format(out.join('\n'), { ...options, filepath: LANGUAGE_DOC });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const before = readFileSync(LANGUAGE_DOC, 'utf8');
  const after = await generateLanguageDoc(before);
  if (after === before) {
    console.log('docs/language.md is up to date');
  } else {
    writeFileSync(LANGUAGE_DOC, after);
    console.log('docs/language.md rewritten');
  }
}
