/*
 * `include "file"`: in-place inclusion at the top level, once per run, cycles refused with the chain named,
 * diagnostics of included files shown at the include statement, and a program whose statements, errors,
 * frames and breakpoints know which file they are in. The file system host (extension/shared/includes.ts)
 * keeps includes inside the workspace.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { IncludeHost } from '../../engine/lang/include';
import { diagnose } from '../../engine/lang/service';
import { loadScenario } from '../../engine/scenario';
import { formatCell } from '../../engine/vm/values';
import { reportEntries } from '../../engine/inspect/reports';
import { formatObjectLookup, objectLookup } from '../../engine/inspect/slabviews';
import { fileIncludeHost, preloadIncludes } from '../../extension/shared/includes';

/** Files in memory, by name; paths are names (no folders needed here). */
function memoryHost(files: Record<string, string>): IncludeHost {
  return {
    resolve(path) {
      const text = files[path];
      return text === undefined
        ? { code: 'KM2031', message: `cannot include '${path}': no such file` }
        : { fileName: path, text };
    },
  };
}

function run(main: string, files: Record<string, string>) {
  const { diagnostics, scenario } = loadScenario(main, 'main.kmem', undefined, {}, memoryHost(files));
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e8 });
  const vars = Object.fromEntries(scenario!.vm.locals(0).map((v) => [v.name, formatCell(v.value)]));
  return { scenario: scenario!, stop, vars };
}

const POOLS = [
  'proc fill(pool, n) {',
  '  repeat n {',
  '    push pool, kmalloc(64, GFP_KERNEL)',
  '  }',
  '}',
  'let filled = 0',
].join('\n');

test("an included file's statements run in place; its procedures and variables are visible after it", () => {
  const r = run(['let pool = []', 'include "pools.kmem"', 'fill(pool, 3)', 'filled = length(pool)'].join('\n'), {
    'pools.kmem': POOLS,
  });
  assert.equal(r.stop.reason, 'end');
  assert.equal(r.vars.filled, '3');
  assert.deepEqual(r.scenario.program.files, ['main.kmem', 'pools.kmem']);
  assert.deepEqual(r.scenario.program.executableLinesByFile[1], [1, 2, 5]);
});

test('a file included twice (a diamond) runs once, at its first include', () => {
  const r = run(['let n = 0', 'include "a.kmem"', 'include "b.kmem"', 'include "common.kmem"'].join('\n'), {
    'a.kmem': 'include "common.kmem"',
    'b.kmem': 'include "common.kmem"',
    'common.kmem': 'n = n + 1',
  });
  assert.equal(r.stop.reason, 'end');
  assert.equal(r.vars.n, '1');
});

test('a cycle is KM2029 at the include that brings it in, with the chain named', () => {
  const host = memoryHost({ 'a.kmem': 'include "b.kmem"', 'b.kmem': 'let x = 1\ninclude "a.kmem"' });
  const found = diagnose('include "a.kmem"', 'main.kmem', undefined, host);
  assert.deepEqual(
    found.map((d) => [d.code, d.message, d.range.start.line, d.range.start.character, d.range.end.character]),
    [['KM2029', 'b.kmem:2:9: include cycle: a.kmem -> b.kmem -> a.kmem', 0, 0, 16]],
  );
  const self = diagnose('let x = 1\ninclude "main.kmem"', 'main.kmem', undefined, memoryHost({ 'main.kmem': '' }));
  assert.deepEqual(
    self.map((d) => [d.code, d.message]),
    [['KM2029', 'include cycle: main.kmem -> main.kmem']],
  );
});

test("an included file's errors show at its include statement, with their own place", () => {
  const host = memoryHost({ 'lib.kmem': 'let a = 1\nlet b = nope + 1', 'cfg.kmem': 'machine { cpus 2 }' });
  assert.deepEqual(
    diagnose('include "lib.kmem"\ninclude "cfg.kmem"', 'main.kmem', undefined, host).map((d) => [
      d.code,
      d.message,
      d.range.start.line,
    ]),
    [
      ['KM2001', "lib.kmem:2:9: unknown name 'nope'", 0],
      [
        'KM2006',
        'cfg.kmem:1:1: an included file cannot configure the machine: the machine block belongs to the scenario that includes it',
        1,
      ],
    ],
  );
  assert.deepEqual(
    diagnose('include "x.kmem"', 'main.kmem').map((d) => d.code),
    ['KM2031'],
    'without a host nothing can be included',
  );
});

test('runtime errors, frames and breakpoints name the included file', () => {
  const files = { 'lib.kmem': ['proc drain(pool) {', '  kfree(pop pool)', '}'].join('\n') };
  const { scenario } = loadScenario(
    ['include "lib.kmem"', 'let pool = []', 'drain(pool)'].join('\n'),
    'main.kmem',
    undefined,
    {},
    memoryHost(files),
  );
  const vm = scenario!.vm;
  const hits: string[] = [];
  const stop = vm.run({
    maxInstructions: 1e6,
    breakAtLine: (line, file) => {
      hits.push(`${file}:${line}`);
      return file === 1;
    },
  });
  assert.equal(stop.reason, 'breakpoint');
  assert.deepEqual(hits, ['0:2', '1:1'], 'the first statement is where the VM stands: not asked');
  assert.deepEqual(
    vm.frames().map((f) => `${f.name}@${f.file}:${f.line + 1}`),
    ['drain@lib.kmem:2', 'main@main.kmem:3'],
  );
  const end = vm.run({ maxInstructions: 1e6 });
  assert.equal(end.reason, 'error');
  assert.equal(end.error!.code, 'KM4129');
  assert.equal(end.error!.file, 'lib.kmem');
  assert.equal(end.error!.range.start.line, 1);
});

test('the file system host keeps includes inside the workspace; the preloading host reads the same graph', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kmem-include-'));
  mkdirSync(join(root, 'lib'));
  writeFileSync(join(root, 'lib', 'pools.kmem'), POOLS + '\ninclude "common.kmem"');
  writeFileSync(join(root, 'lib', 'common.kmem'), 'filled = 7');
  const main = join(root, 'main.kmem');
  const source = 'include "lib/pools.kmem"\ninclude "../outside.kmem"';
  const host = fileIncludeHost(root);
  assert.deepEqual(
    diagnose(source, main, undefined, host).map((d) => [d.code, d.range.start.line]),
    [['KM2030', 1]],
  );
  const preloaded = await preloadIncludes(main, 'include "lib/pools.kmem"', root, async (p) => {
    const { readFileSync } = await import('node:fs');
    return readFileSync(p, 'utf8');
  });
  const { diagnostics, scenario } = loadScenario('include "lib/pools.kmem"', main, undefined, {}, preloaded);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(
    scenario!.program.files.map((f) => f.slice(root.length + 1)),
    ['main.kmem', join('lib', 'pools.kmem'), join('lib', 'common.kmem')],
  );
  scenario!.vm.run({ maxInstructions: 1e6 });
  assert.equal(formatCell(scenario!.vm.locals(0).find((v) => v.name === 'filled')!.value), '7');
});

test("events and reports made by an included file's statements name that file and its line", () => {
  const r = run(['machine { kasan y }', 'include "oob.kmem"', 'let after = kmalloc(8, GFP_KERNEL)'].join('\n'), {
    'oob.kmem': ['let p = kmalloc(16, GFP_KERNEL)', 'expect kasan {', '  write8(p + 16, 1)', '}'].join('\n'),
  });
  assert.equal(r.stop.reason, 'end', JSON.stringify(r.stop.error));
  const reports = reportEntries(r.scenario.machine);
  assert.deepEqual(
    reports.map((e) => [e.kind, e.file, e.line]),
    [['kasan', 'oob.kmem', 3]],
  );
  const events = r.scenario.machine.events;
  const last = events.get(events.length - 1);
  assert.deepEqual([last.file, last.line], [0, 3], 'the main file again: no file, its own line');
});

test("the console's object view names the included file an object was allocated in", () => {
  const r = run(['include "alloc.kmem"', 'let q = 0'].join('\n'), {
    'alloc.kmem': ['let p = kmalloc(64, GFP_KERNEL)'].join('\n'),
  });
  assert.equal(r.stop.reason, 'end');
  const m = r.scenario.machine;
  const p = r.scenario.vm.locals(0).find((v) => v.name === 'p')!.value as bigint;
  const text = formatObjectLookup(objectLookup(m, m.phys(p)!)!);
  assert.match(text, / at alloc\.kmem:1\b/);
});
