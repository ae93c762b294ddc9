/*
 * Determinism: a run is a function of the scenario and the seed. Every bundled example gives the same event
 * log (EventLog.digest(): every field of every event), kernel log and output when run twice in this process
 * and once in another process (the CLI's --json digest); rand() draws the same numbers for the same seed and
 * other numbers for another seed.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { loadScenario, ScenarioDefaults } from '../../engine/scenario';

const root = join(__dirname, '..', '..');
const dir = join(root, 'examples');
const examples = readdirSync(dir).filter((f) => f.endsWith('.kmem'));

function runOnce(file: string, defaults: ScenarioDefaults = {}): { digest: string; log: string; output: string } {
  const name = `examples/${file}`;
  const { scenario } = loadScenario(readFileSync(join(dir, file), 'utf8'), name, defaults);
  let stop = scenario!.vm.run({ maxInstructions: 1_000_000 });
  while (stop.reason === 'budget') stop = scenario!.vm.run({ maxInstructions: 1_000_000 });
  const m = scenario!.machine;
  return { digest: m.events.digest(), log: m.log.join(''), output: m.output.join('') };
}

test('every example: the same events, log and output twice in one process, and in another process', () => {
  const here = Object.fromEntries(examples.map((f) => [f, runOnce(f)]));
  for (const f of examples) assert.deepEqual(runOnce(f), here[f], f);
  // Another process: the CLI with --json reports the digest (tsx runs the TypeScript directly).
  const script = `
    const { main } = require('./extension/cli/main');
    const out = {};
    for (const f of ${JSON.stringify(examples)}) {
      let text = '';
      main(['run', 'examples/' + f, '--json'], { out: (t) => (text += t), err: () => {}, readFile: (p) => require('node:fs').readFileSync(p, 'utf8') });
      out[f] = JSON.parse(text).events.digest;
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const other = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    }),
  ) as Record<string, string>;
  for (const f of examples) assert.equal(other[f], here[f]!.digest, f);
});

test('with every detector on the runs are as deterministic (KFENCE placement, quarantine, scans)', () => {
  const on: ScenarioDefaults = { kasan: true, kmemleak: true, kfence: 1 };
  for (const f of ['slab-growth.kmem', 'kfence-sample.kmem', 'module-leak.kmem']) {
    assert.deepEqual(runOnce(f, on), runOnce(f, on), f);
  }
});

test('rand(): the same seed draws the same numbers, another seed others', () => {
  const draw = (seed: number) => {
    const { scenario } = loadScenario(
      `machine { seed ${seed} }\nlet a = rand(1000000)\nlet b = rand(1000000)\nlet c = rand(6)\n`,
      'r.kmem',
    );
    scenario!.vm.run({ maxInstructions: 1e6 });
    return scenario!.vm.locals(0).map((v) => v.value);
  };
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
  const [, , c] = draw(42);
  assert.ok(typeof c === 'number' && c >= 0 && c < 6);
  // --seed applies where the machine block has none.
  const { scenario } = loadScenario('let a = rand(1000000)\n', 'r.kmem', { seed: 7 });
  scenario!.vm.run({ maxInstructions: 1e6 });
  assert.equal(scenario!.vm.locals(0)[0]!.value, draw(7)[0]);
});
